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

    With `target` "original" the term is one-directional instead, the original stream's prediction
    a fixed target for the perturbed one:

        PC = KL(sg(p) ‖ q),

    `sg` stopping the gradient, so the term's gradient enters the model only through the perturbed
    stream's prediction: it is pulled toward the original (English) one, never the reverse (the
    shared weights still carry the update to both). This is UDA's consistency loss (Xie et al.,
    "Unsupervised Data Augmentation for Consistency Training", NeurIPS 2020, eq. 1), applied to
    labelled pairs.

    Registered as a `PairLoss` with name "prediction_consistency".

    # Parameters

    weight : `float`, optional (default = `1.0`)
    temperature : `float`, optional (default = `1.0`)
    target : `str`, optional (default = `"both"`)
        "both": the symmetric KL with gradients through both streams (xTune); "original": KL(sg(p) ‖ q)
        (UDA).
    """

    name = "prediction_consistency"

    targets = ("both", "original")

    def __init__(self, weight: float = 1.0, temperature: float = 1.0, target: str = "both") -> None:
        super().__init__(weight)
        if temperature <= 0:
            raise ConfigurationError(f"prediction_consistency: `temperature` must be > 0, got {temperature}")
        if target not in self.targets:
            raise ConfigurationError(
                f"prediction_consistency: `target` must be one of {', '.join(self.targets)}, got {target!r}"
            )
        self.temperature = temperature
        self.target = target

    def forward(self, original_logits: torch.Tensor, perturbed_logits: torch.Tensor) -> torch.Tensor:
        log_p = torch.log_softmax(original_logits.float() / self.temperature, dim=-1)
        log_q = torch.log_softmax(perturbed_logits.float() / self.temperature, dim=-1)
        if self.target == "original":
            log_p = log_p.detach()
            return (log_p.exp() * (log_p - log_q)).sum(-1).mean()
        p, q = log_p.exp(), log_q.exp()
        return ((p * (log_p - log_q)).sum(-1) + (q * (log_q - log_p)).sum(-1)).mean()

    def from_streams(
        self, original: StreamOutput, perturbed: StreamOutput, label: torch.LongTensor
    ) -> torch.Tensor:
        return self(original.logits, perturbed.logits)

    def extra_repr(self) -> str:
        return f"weight={self.weight}, temperature={self.temperature}, target={self.target}"
