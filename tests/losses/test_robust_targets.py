"""Robust targets against an independent computation written here (loops)."""
import math

import pytest
import torch

from eapr_plugin.losses import RobustTargets, StreamOutput


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
