import torch
from allennlp.common.checks import ConfigurationError

from eapr_plugin.losses.pair_loss import PairLoss, StreamOutput


@PairLoss.register("prediction_consistency")
class PredictionConsistency(PairLoss):
    """
    Prediction consistency: the symmetric Kullback-Leibler divergence between the label
    distributions the classifier predicts for the original and the perturbed input,

        PC = KL(p ‖ q) + KL(q ‖ p),   p = softmax(f(x) / T),  q = softmax(f(x~) / T),

    averaged over the batch (KL summed over labels), with gradients through both streams. This is
    xTune's example consistency (Zheng et al., "Consistency Regularization for Cross-Lingual
    Fine-Tuning", ACL 2021, eq. R1), used here as an extra term beside (or instead of) EAPR's:
    it asks the two streams to agree on the whole distribution, where robust targets only ask both
    to fit the hard label. Not part of the EAPR paper. At `temperature` 1 it is the plain
    symmetric KL; higher temperatures compare softer distributions (no T² rescaling).

    Registered as a `PairLoss` with name "prediction_consistency".

    # Parameters

    weight : `float`, optional (default = `1.0`)
    temperature : `float`, optional (default = `1.0`)
    """

    name = "prediction_consistency"

    def __init__(self, weight: float = 1.0, temperature: float = 1.0) -> None:
        super().__init__(weight)
        if temperature <= 0:
            raise ConfigurationError(f"prediction_consistency: `temperature` must be > 0, got {temperature}")
        self.temperature = temperature

    def forward(self, original_logits: torch.Tensor, perturbed_logits: torch.Tensor) -> torch.Tensor:
        log_p = torch.log_softmax(original_logits.float() / self.temperature, dim=-1)
        log_q = torch.log_softmax(perturbed_logits.float() / self.temperature, dim=-1)
        p, q = log_p.exp(), log_q.exp()
        return ((p * (log_p - log_q)).sum(-1) + (q * (log_q - log_p)).sum(-1)).mean()

    def from_streams(
        self, original: StreamOutput, perturbed: StreamOutput, label: torch.LongTensor
    ) -> torch.Tensor:
        return self(original.logits, perturbed.logits)

    def extra_repr(self) -> str:
        return f"weight={self.weight}, temperature={self.temperature}"
