"""The term base: registration, the paper's default weights, requests, gradients (every term)."""
import pytest
import torch
from allennlp.common.checks import ConfigurationError

from eapr_plugin.losses import AttentionPull, EmbeddingPush, PairLoss, RobustTargets, StreamRequest


def test_terms_are_registered():
    assert PairLoss.by_name("robust_targets") is RobustTargets
    assert PairLoss.by_name("embedding_push") is EmbeddingPush
    assert PairLoss.by_name("attention_pull") is AttentionPull


def test_default_weights_are_the_papers():
    assert RobustTargets().weight == 1.0
    assert EmbeddingPush().weight == 0.1
    pull = AttentionPull()
    assert (pull.weight, pull.layer, pull.mode, pull.max_length) == (1.0, 5, "exact", 128)


def test_each_term_requests_what_it_reads_and_requests_merge():
    assert RobustTargets().request() == StreamRequest()
    assert EmbeddingPush().request() == StreamRequest(embeddings=True)
    assert AttentionPull(layer=3, max_length=64).request() == StreamRequest(attention_layer=3, pad_to_length=64)
    assert AttentionPull(layer=3, mode="masked").request() == StreamRequest(attention_layer=3)
    merged = StreamRequest(embeddings=True).merge(AttentionPull(layer=3, max_length=64).request())
    assert merged == StreamRequest(embeddings=True, attention_layer=3, pad_to_length=64)
    with pytest.raises(ConfigurationError, match="different `attention_layer` \\(3 and 4\\)"):
        AttentionPull(layer=3).request().merge(AttentionPull(layer=4).request())


@pytest.mark.parametrize(
    "term, args",
    [
        (RobustTargets(), lambda t: (t["logits"], torch.tensor([1, 0]))),
        (EmbeddingPush(), lambda t: (t["emb_a"], t["mask"], t["emb_b"], t["mask"])),
        (AttentionPull(layer=0, max_length=3), lambda t: (t["att_a"], t["att_b"])),
    ],
)
def test_every_term_passes_gradients_to_its_inputs(term, args):
    tensors = {
        "logits": torch.randn(2, 3, requires_grad=True),
        "emb_a": torch.randn(2, 3, 4, requires_grad=True),
        "emb_b": torch.randn(2, 3, 4, requires_grad=True),
        "mask": torch.ones(2, 3, dtype=torch.bool),
        "att_a": torch.softmax(torch.randn(2, 1, 3, 3), -1).requires_grad_(),
        "att_b": torch.softmax(torch.randn(2, 1, 3, 3), -1).requires_grad_(),
    }
    inputs = args(tensors)
    term(*inputs).backward()
    grads = [x.grad for x in inputs if isinstance(x, torch.Tensor) and x.requires_grad]
    assert grads and all(g is not None and g.abs().sum() > 0 for g in grads)
