"""
The base of EAPR's extra loss terms and the tensors they read.
"""
from dataclasses import dataclass
from typing import Optional

import torch
from allennlp.common import Registrable


@dataclass
class StreamOutput:
    """
    What one forward pass (one stream) of `EaprClassifier` exposes to the loss terms.

    # Parameters

    logits : `torch.Tensor`
        `(batch, num_labels)` classifier logits.
    embeddings : `torch.Tensor`
        `(batch, length, hidden)` output of the encoder's embedding module, `E(z)`
        (`hidden_states[0]` in HF: word + position + token-type embeddings, LayerNorm, dropout).
    mask : `torch.BoolTensor`
        `(batch, length)` padding mask `m(z)`, True on real tokens.
    attention : `torch.Tensor`, optional
        `(batch, heads, length, length)` post-softmax attention probabilities of the layer that
        `AttentionPull` reads (None when no term needs attention).
    """

    logits: torch.Tensor
    embeddings: Optional[torch.Tensor] = None
    mask: Optional[torch.BoolTensor] = None
    attention: Optional[torch.Tensor] = None


class PairLoss(torch.nn.Module, Registrable):
    """
    One extra term of the EAPR objective, computed from the original stream `x` and the perturbed
    stream `x~` of a batch of training pairs. Each subclass has a `forward` that takes plain tensors
    and returns a 0-dim tensor (the *unweighted* value), and maps the two `StreamOutput`s onto that
    `forward` in `from_streams`. The model adds `weight * value` to the task loss and reports the
    unweighted value under `f"{name}_loss"`.

    Terms are registered with `@PairLoss.register(name)`; a config lists them as
    `"loss_terms": [{"type": "embedding_push", "weight": 0.1}, ...]`.

    # Parameters

    weight : `float`
        The term's weight in the total loss. A weight of 0 keeps the term computed and logged
        (useful for ablations) without letting it move the model.
    """

    #: key under which the model reports the term (`f"{name}_loss"`), set by each subclass.
    name: str = ""
    #: the encoder layer whose attention probabilities this term reads (None: no attention).
    attention_layer: Optional[int] = None
    #: length both streams must be padded to before the encoder runs (None: dynamic padding).
    pad_to_length: Optional[int] = None

    def __init__(self, weight: float) -> None:
        super().__init__()
        self.weight = float(weight)

    def from_streams(
        self, original: StreamOutput, perturbed: StreamOutput, label: torch.LongTensor
    ) -> torch.Tensor:
        raise NotImplementedError

    def extra_repr(self) -> str:
        return f"weight={self.weight}"
