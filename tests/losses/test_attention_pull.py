"""Attention-Pull against an independent computation written here (loops)."""
import numpy
import pytest
import torch
from allennlp.common.checks import ConfigurationError

from eapr_plugin.losses import AttentionPull


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
