import torch
from allennlp.common.checks import ConfigurationError
from allennlp.nn.util import masked_mean

from eapr_plugin.losses.pair_loss import PairLoss, StreamOutput, StreamRequest


@PairLoss.register("embedding_push")
class EmbeddingPush(PairLoss):
    """
    Embedding-Push: `EP = − MSE(mean(x), mean(x~))`, where `mean(z)` is the padding-masked mean of
    the embedding-layer output `E(z)` over tokens, and the MSE is the mean over batch and hidden
    dimensions. Minimising it pushes the perturbed input's mean embedding away from the original's
    ("virtual multilingual embeddings"). The value returned is the negative MSE itself.

    The term has no lower bound (the paper's choice). `max_distance` optionally bounds the push
    by clamping the MSE at that value (gradient zero beyond it): a documented **deviation from the
    paper**, off by default.

    Registered as a `PairLoss` with name "embedding_push".

    # Parameters

    weight : `float`, optional (default = `0.1`)
        α in the paper's run scripts (the release's argparse default is 1.0).
    max_distance : `float`, optional (default = `None`)
        If set, the MSE is clamped to at most this value, so `EP >= -max_distance`.
    """

    name = "embedding_push"

    def __init__(self, weight: float = 0.1, max_distance: float = None) -> None:
        super().__init__(weight)
        if max_distance is not None and max_distance <= 0:
            raise ConfigurationError(
                f"embedding_push: `max_distance` must be > 0, got {max_distance}"
            )
        self.max_distance = max_distance

    def forward(
        self,
        original_embeddings: torch.Tensor,
        original_mask: torch.BoolTensor,
        perturbed_embeddings: torch.Tensor,
        perturbed_mask: torch.BoolTensor,
    ) -> torch.Tensor:
        original_mean = masked_mean(original_embeddings, original_mask.unsqueeze(-1), dim=1)
        perturbed_mean = masked_mean(perturbed_embeddings, perturbed_mask.unsqueeze(-1), dim=1)
        mse = torch.nn.functional.mse_loss(perturbed_mean.float(), original_mean.float())
        if self.max_distance is not None:
            mse = mse.clamp(max=self.max_distance)
        return -mse

    def request(self) -> StreamRequest:
        return StreamRequest(embeddings=True)

    def from_streams(
        self, original: StreamOutput, perturbed: StreamOutput, label: torch.LongTensor
    ) -> torch.Tensor:
        return self(original.embeddings, original.mask, perturbed.embeddings, perturbed.mask)

    def extra_repr(self) -> str:
        return f"weight={self.weight}, max_distance={self.max_distance}"
