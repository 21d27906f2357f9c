import torch

from eapr_plugin.losses.pair_loss import PairLoss, StreamOutput


@PairLoss.register("robust_targets")
class RobustTargets(PairLoss):
    """
    Robust targets: cross-entropy of the classifier on the *original* English input with the same
    hard gold label as its perturbed copy, `CE(f(x), y)` (mean over the batch; no soft labels).
    The name follows the authors' release, where this is `rb_loss`; an ablation "without robust
    targets" drops this term (or sets its weight to 0).

    Registered as a `PairLoss` with name "robust_targets".

    # Parameters

    weight : `float`, optional (default = `1.0`)
        The paper's total loss adds this term with weight 1.
    """

    name = "robust_targets"

    def __init__(self, weight: float = 1.0) -> None:
        super().__init__(weight)

    def forward(self, original_logits: torch.Tensor, label: torch.LongTensor) -> torch.Tensor:
        return torch.nn.functional.cross_entropy(original_logits, label.long().view(-1))

    def from_streams(
        self, original: StreamOutput, perturbed: StreamOutput, label: torch.LongTensor
    ) -> torch.Tensor:
        return self(original.logits, label)
