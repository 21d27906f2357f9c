"""Each loss term against an independent computation written here (loops / numpy)."""
import math

import numpy
import pytest
import torch

from allennlp.common.checks import ConfigurationError

from eapr_plugin.losses import AttentionPull, EmbeddingPush, PairLoss, RobustTargets, StreamOutput, StreamRequest


def test_terms_are_registered():
    assert PairLoss.by_name("robust_targets") is RobustTargets
    assert PairLoss.by_name("embedding_push") is EmbeddingPush
    assert PairLoss.by_name("attention_pull") is AttentionPull


def test_default_weights_are_the_papers():
    assert RobustTargets().weight == 1.0
    assert EmbeddingPush().weight == 0.1
    pull = AttentionPull()
    assert (pull.weight, pull.layer, pull.mode, pull.max_length) == (1.0, 5, "exact", 128)


def test_robust_targets_is_cross_entropy_on_the_original_stream():
    logits = torch.tensor([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3]])
    label = torch.tensor([0, 2])
    expected = 0.0
    for row, gold in zip(logits.tolist(), label.tolist()):
        expected += -(row[gold] - math.log(sum(math.exp(v) for v in row)))
    expected /= 2
    value = RobustTargets(weight=3.0)(logits, label)
    assert value.dim() == 0
    assert value.item() == pytest.approx(expected, rel=1e-6)
    # from_streams reads the *original* stream's logits, not the perturbed one's
    streams = RobustTargets().from_streams(
        StreamOutput(logits=logits), StreamOutput(logits=torch.zeros(2, 3)), label
    )
    assert streams.item() == pytest.approx(expected, rel=1e-6)


def _masked_mean_by_hand(embeddings, mask):
    batch, length, hidden = embeddings.shape
    out = numpy.zeros((batch, hidden))
    for b in range(batch):
        real = [i for i in range(length) if mask[b, i]]
        for h in range(hidden):
            out[b, h] = sum(embeddings[b, i, h] for i in real) / max(len(real), 1e-9)
    return out


def test_embedding_push_is_negative_mse_of_masked_means_with_padding():
    generator = torch.Generator().manual_seed(0)
    original = torch.randn(2, 5, 3, generator=generator)
    perturbed = torch.randn(2, 4, 3, generator=generator)  # another length: different tokenization
    original_mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], dtype=torch.bool)
    perturbed_mask = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 0]], dtype=torch.bool)
    # padded positions hold garbage that must not count
    original[0, 3:] = 1000.0
    perturbed[1, 3:] = -1000.0
    a = _masked_mean_by_hand(original.numpy(), original_mask.numpy())
    b = _masked_mean_by_hand(perturbed.numpy(), perturbed_mask.numpy())
    expected = -((a - b) ** 2).mean()
    value = EmbeddingPush()(original, original_mask, perturbed, perturbed_mask)
    assert value.dim() == 0
    assert value.item() == pytest.approx(expected, rel=1e-5)
    assert value.item() < 0


def test_embedding_push_optional_bound():
    original = torch.zeros(1, 2, 2)
    perturbed = torch.full((1, 2, 2), 10.0)
    mask = torch.ones(1, 2, dtype=torch.bool)
    assert EmbeddingPush()(original, mask, perturbed, mask).item() == pytest.approx(-100.0)
    assert EmbeddingPush(max_distance=5.0)(original, mask, perturbed, mask).item() == pytest.approx(-5.0)


def _random_attention(batch, heads, length, seed):
    generator = torch.Generator().manual_seed(seed)
    return torch.softmax(torch.randn(batch, heads, length, length, generator=generator), dim=-1)


def test_attention_pull_exact_is_mse_over_all_positions_including_padding():
    original = _random_attention(2, 3, 6, seed=1)
    perturbed = _random_attention(2, 3, 6, seed=2)
    total = 0.0
    for index in numpy.ndindex(*original.shape):
        total += (float(perturbed[index]) - float(original[index])) ** 2
    expected = total / original.numel()
    value = AttentionPull(layer=0, max_length=6)(original, perturbed)
    assert value.dim() == 0
    assert value.item() == pytest.approx(expected, rel=1e-5)


def test_attention_pull_exact_rejects_unaligned_maps():
    with pytest.raises(ValueError, match="same length"):
        AttentionPull()(_random_attention(1, 1, 4, 0), _random_attention(1, 1, 5, 0))


def test_attention_pull_masked_compares_only_positions_real_in_both_streams():
    original = _random_attention(2, 2, 5, seed=3)
    perturbed = _random_attention(2, 2, 4, seed=4)
    original_mask = torch.tensor([[1, 1, 1, 1, 0], [1, 1, 0, 0, 0]], dtype=torch.bool)
    perturbed_mask = torch.tensor([[1, 1, 1, 0], [1, 1, 1, 1]], dtype=torch.bool)
    total, count = 0.0, 0
    for b in range(2):
        for h in range(2):
            for i in range(4):
                for j in range(4):
                    if original_mask[b, i] and original_mask[b, j] and perturbed_mask[b, i] and perturbed_mask[b, j]:
                        total += (float(perturbed[b, h, i, j]) - float(original[b, h, i, j])) ** 2
                        count += 1
    assert count == 2 * (9 + 4)
    value = AttentionPull(mode="masked", layer=0)(original, perturbed, original_mask, perturbed_mask)
    assert value.item() == pytest.approx(total / count, rel=1e-5)


def test_attention_pull_validates_settings():
    with pytest.raises(ConfigurationError, match="mode"):
        AttentionPull(mode="kl")
    with pytest.raises(ConfigurationError, match="layer"):
        AttentionPull(layer=-1)
    with pytest.raises(ConfigurationError, match="max_length"):
        AttentionPull(max_length=0)


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
