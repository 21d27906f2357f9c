from typing import Optional

import torch
from allennlp.common.checks import ConfigurationError

from eapr_plugin.losses.pair_loss import PairLoss, StreamOutput, StreamRequest


@PairLoss.register("attention_pull")
class AttentionPull(PairLoss):
    """
    Attention-Pull: `AP = MSE(A_l(x~), A_l(x))`, the mean squared difference between the
    post-softmax attention probabilities of encoder layer `l` (0-based, all heads) on the perturbed
    and the original input. Minimising it keeps the perturbed input's attention pattern (its
    meaning) close to the original's. MSE, not KL.

    Two modes, because the authors' release pads both streams to a fixed `max_length` and compares
    the full `max_length × max_length` maps position by position, padded rows and columns
    included, so the value depends on the padding length:

    - `"exact"` (default, the paper's recipe): the model pads both streams to `max_length` before
      the encoder runs (with the encoder's real pad token id, as an HF tokenizer with
      `padding="max_length"` does) and the MSE is the mean over batch × heads × L × L.
    - `"masked"` (a documented, faster alternative): dynamic padding; only entries `(i, j)` where
      query `i` and key `j` are real tokens of *both* streams are compared, and the MSE is the sum
      of squared differences over those entries divided by their count (times heads).

    Registered as a `PairLoss` with name "attention_pull".

    # Parameters

    weight : `float`, optional (default = `1.0`)
        β in the paper's run scripts.
    layer : `int`, optional (default = `5`)
        0-based index of the encoder layer (the 6th of 12 in the paper); must be smaller than the
        encoder's `num_hidden_layers` (checked by the model).
    mode : `str`, optional (default = `"exact"`)
        `"exact"` or `"masked"`, as above.
    max_length : `int`, optional (default = `128`)
        The padding length of `"exact"` mode; must equal the tokenizer's `max_length`.
    """

    name = "attention_pull"

    def __init__(
        self, weight: float = 1.0, layer: int = 5, mode: str = "exact", max_length: int = 128
    ) -> None:
        super().__init__(weight)
        if mode not in ("exact", "masked"):
            raise ConfigurationError(
                f"attention_pull: `mode` must be 'exact' or 'masked', got {mode!r} (EAPR_AP_MODE in training_configs/)"
            )
        if layer < 0:
            raise ConfigurationError(f"attention_pull: `layer` must be >= 0, got {layer} (EAPR_LAYER)")
        if max_length < 1:
            raise ConfigurationError(f"attention_pull: `max_length` must be >= 1, got {max_length}")
        self.layer = layer
        self.mode = mode
        self.max_length = max_length

    def request(self) -> StreamRequest:
        return StreamRequest(
            attention_layer=self.layer, pad_to_length=self.max_length if self.mode == "exact" else None
        )

    def forward(
        self,
        original_attention: torch.Tensor,
        perturbed_attention: torch.Tensor,
        original_mask: Optional[torch.BoolTensor] = None,
        perturbed_mask: Optional[torch.BoolTensor] = None,
    ) -> torch.Tensor:
        if self.mode == "exact":
            if original_attention.shape != perturbed_attention.shape:
                raise ValueError(
                    "attention_pull (exact mode) needs both streams padded to the same length, got "
                    f"{tuple(original_attention.shape)} and {tuple(perturbed_attention.shape)}"
                )
            return torch.nn.functional.mse_loss(
                perturbed_attention.float(), original_attention.float()
            )
        # masked mode: compare the positions that are real tokens in both streams.
        length = max(original_attention.size(-1), perturbed_attention.size(-1))
        original_attention = _pad_square(original_attention, length)
        perturbed_attention = _pad_square(perturbed_attention, length)
        both = _pad_mask(original_mask, length) & _pad_mask(perturbed_mask, length)
        pair_mask = (both.unsqueeze(2) & both.unsqueeze(1)).unsqueeze(1)  # (batch, 1, L, L)
        squared = (perturbed_attention.float() - original_attention.float()) ** 2
        count = pair_mask.sum() * original_attention.size(1)
        return (squared * pair_mask).sum() / count.clamp(min=1)

    def from_streams(
        self, original: StreamOutput, perturbed: StreamOutput, label: torch.LongTensor
    ) -> torch.Tensor:
        return self(original.attention, perturbed.attention, original.mask, perturbed.mask)

    def extra_repr(self) -> str:
        return f"weight={self.weight}, layer={self.layer}, mode={self.mode!r}, max_length={self.max_length}"


def _pad_square(attention: torch.Tensor, length: int) -> torch.Tensor:
    extra = length - attention.size(-1)
    return torch.nn.functional.pad(attention, (0, extra, 0, extra)) if extra else attention


def _pad_mask(mask: torch.BoolTensor, length: int) -> torch.BoolTensor:
    extra = length - mask.size(-1)
    return torch.nn.functional.pad(mask, (0, extra), value=False) if extra else mask
