"""
The base of EAPR's extra loss terms, the tensors they read, and what they ask of the encoder.
"""
from dataclasses import dataclass, replace
from typing import Optional

import torch
from allennlp.common import Registrable
from allennlp.common.checks import ConfigurationError


@dataclass(frozen=True)
class StreamRequest:
    """
    What the loss terms need from each stream's forward pass besides the logits; each term states
    its own (`PairLoss.request`), and the model runs the encoder once per stream to satisfy the
    union of them (`merge`).

    # Parameters

    embeddings : `bool`, optional (default = `False`)
        Keep the embedding-layer output `E(z)`.
    attention_layer : `int`, optional (default = `None`)
        Keep the post-softmax attention probabilities of this encoder layer (0-based).
    pad_to_length : `int`, optional (default = `None`)
        Pad both streams to this length before the encoder runs (None: dynamic padding).
    """

    embeddings: bool = False
    attention_layer: Optional[int] = None
    pad_to_length: Optional[int] = None

    def merge(self, other: "StreamRequest") -> "StreamRequest":
        merged = replace(self, embeddings=self.embeddings or other.embeddings)
        for name in ("attention_layer", "pad_to_length"):
            mine, theirs = getattr(self, name), getattr(other, name)
            if mine is not None and theirs is not None and mine != theirs:
                raise ConfigurationError(
                    f"eapr_classifier: two loss terms ask for different `{name}` ({mine} and {theirs}); "
                    "one encoder pass can serve only one"
                )
            merged = replace(merged, **{name: mine if mine is not None else theirs})
        return merged


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
    `forward` in `from_streams`, and says in `request` what it needs the encoder to expose
    (embeddings, an attention layer, a padding length). The model adds `weight * value` to the
    task loss and reports the unweighted value under `f"{name}_loss"`.

    Terms are registered with `@PairLoss.register(name)`; a config lists them as
    `"loss_terms": [{"type": "embedding_push", "weight": 0.1}, ...]`.

    # Parameters

    weight : `float`
        The term's weight in the total loss. A weight of 0 keeps the term computed and logged
        (useful for ablations) without letting it move the model.
    """

    #: key under which the model reports the term (`f"{name}_loss"`), set by each subclass.
    name: str = ""

    def __init__(self, weight: float) -> None:
        super().__init__()
        self.weight = float(weight)

    def request(self) -> StreamRequest:
        """What this term needs from the two streams' forward passes (default: the logits only)."""
        return StreamRequest()

    def from_streams(
        self, original: StreamOutput, perturbed: StreamOutput, label: torch.LongTensor
    ) -> torch.Tensor:
        raise NotImplementedError

    def extra_repr(self) -> str:
        return f"weight={self.weight}"
