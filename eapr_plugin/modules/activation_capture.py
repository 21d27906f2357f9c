"""
Read the two activations EAPR needs straight from a Hugging Face encoder, with forward hooks.

`PretrainedTransformerEmbedder` returns only the last layer. The embedding-layer output `E(z)` is
the output of the encoder's `embeddings` module (the same tensor HF returns as
`hidden_states[0]`), and the attention probabilities of one layer `l` are requested from that layer
alone: a pre-hook turns on `output_attentions` for layer `l` only, so every other layer keeps its
fast path (with BERT's SDPA attention, only layer `l` falls back to eager attention).
"""
import logging
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator, Optional

import torch
from allennlp.common.checks import ConfigurationError

from eapr_plugin.losses.pair_loss import StreamRequest

# Position of `output_attentions` in `BertLayer.forward` / `XLMRobertaLayer.forward`
# (hidden_states, attention_mask, head_mask, encoder_hidden_states, encoder_attention_mask,
# past_key_value, output_attentions); HF's encoder passes it positionally.
_OUTPUT_ATTENTIONS_POSITION = 6


class _DropSdpaFallbackNotice(logging.Filter):
    """HF logs, once per process, that an SDPA layer asked for attentions falls back to eager
    attention. Here that is the design (only layer `l` is asked), not news for the user."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "SdpaSelfAttention is used but" not in record.getMessage()


for _name in ("transformers.models.bert.modeling_bert", "transformers.models.roberta.modeling_roberta",
              "transformers.models.xlm_roberta.modeling_xlm_roberta"):
    logging.getLogger(_name).addFilter(_DropSdpaFallbackNotice())


@dataclass
class Captured:
    embeddings: Optional[torch.Tensor] = None
    attention: Optional[torch.Tensor] = None


def encoder_layers(transformer: torch.nn.Module) -> torch.nn.ModuleList:
    """The list of transformer layers of a BERT/RoBERTa-family HF model."""
    encoder = getattr(transformer, "encoder", None)
    layers = getattr(encoder, "layer", None)
    if not isinstance(layers, torch.nn.ModuleList):
        raise ConfigurationError(
            f"{type(transformer).__name__} has no `encoder.layer` list: EAPR's activation capture "
            "supports BERT- and RoBERTa-family encoders (mBERT, XLM-R, ...)"
        )
    return layers


def _request_attention(module, args, kwargs):
    if len(args) > _OUTPUT_ATTENTIONS_POSITION:
        args = (
            args[:_OUTPUT_ATTENTIONS_POSITION] + (True,) + args[_OUTPUT_ATTENTIONS_POSITION + 1 :]
        )
    else:
        kwargs = dict(kwargs, output_attentions=True)
    return args, kwargs


@contextmanager
def capture_activations(
    transformer: torch.nn.Module, request: StreamRequest, all_layer_attentions: bool = False
) -> Iterator[Captured]:
    """
    Within the block, forward passes of `transformer` store what `request` asks for (the
    embedding-layer output and/or the attention probabilities of `request.attention_layer`) into
    the yielded `Captured`.

    `all_layer_attentions=True` instead asks the whole encoder for every layer's attention map
    (HF's `output_attentions=True`) and keeps layer `attention_layer`: the slower reference path,
    kept for benchmarking and tests.
    """
    captured = Captured()
    attention_layer = request.attention_layer
    handles = []
    saved_flag = transformer.config.output_attentions

    def keep_embeddings(module, inputs, output):
        captured.embeddings = output

    def keep_attention(module, inputs, output):
        captured.attention = output[1]

    def keep_attention_from_encoder(module, inputs, output):
        captured.attention = output.attentions[attention_layer]

    if request.embeddings:
        handles.append(transformer.embeddings.register_forward_hook(keep_embeddings))
    if attention_layer is not None:
        if all_layer_attentions:
            transformer.config.output_attentions = True
            handles.append(transformer.encoder.register_forward_hook(keep_attention_from_encoder))
        else:
            layer = encoder_layers(transformer)[attention_layer]
            handles.append(layer.register_forward_pre_hook(_request_attention, with_kwargs=True))
            handles.append(layer.register_forward_hook(keep_attention))
    try:
        yield captured
    finally:
        transformer.config.output_attentions = saved_flag
        for handle in handles:
            handle.remove()


def _trim_mask(mask: torch.Tensor, length: int) -> torch.Tensor:
    """An HF extended attention mask, `(batch, 1, 1 or queries, keys)`, cut to `length` positions."""
    if mask.dim() == 4 and mask.size(2) > 1:
        return mask[:, :, :length, :length]
    return mask[..., :length]


@contextmanager
def trim_after_layer(transformer: torch.nn.Module, layer: int, length: int) -> Iterator[None]:
    """
    Within the block, the encoder layers after `layer` run on the first `length` positions only.

    With right padding, padded positions never influence real ones (their keys are masked), and
    after the layer whose attention map Attention-Pull compares nothing reads a padded position
    again (the heads pool real tokens). So in exact mode, where both streams are padded to
    `max_length` for that map, the later layers can run on the batch's real length: the real
    positions' values are the same (eval mode, up to float rounding), the work is not.
    """
    def trim(module, args, kwargs):
        hidden = args[0][:, :length]
        if len(args) > 1 and args[1] is not None:
            args = (hidden, _trim_mask(args[1], length)) + tuple(args[2:])
        else:
            args = (hidden,) + tuple(args[1:])
            if kwargs.get("attention_mask") is not None:
                kwargs = dict(kwargs, attention_mask=_trim_mask(kwargs["attention_mask"], length))
        return args, kwargs

    handles = [later.register_forward_pre_hook(trim, with_kwargs=True)
               for later in list(encoder_layers(transformer))[layer + 1:]]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()
