"""Embedding-Push against an independent computation written here (loops / numpy)."""
import numpy
import pytest
import torch

from eapr_plugin.losses import EmbeddingPush


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
