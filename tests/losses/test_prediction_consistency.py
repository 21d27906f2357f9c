"""Prediction consistency against an independent computation written here (loops over labels)."""
import math

import pytest
import torch
from allennlp.common.checks import ConfigurationError

from eapr_plugin.losses import PairLoss, PredictionConsistency, StreamOutput, StreamRequest


def softmax(row, temperature):
    exps = [math.exp(v / temperature) for v in row]
    return [e / sum(exps) for e in exps]


@pytest.mark.parametrize("temperature", [1.0, 2.0])
def test_symmetric_kl_of_the_two_streams_predictions(temperature):
    original = torch.tensor([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3]])
    perturbed = torch.tensor([[1.0, 1.0, 0.0], [0.3, -0.2, 0.9]])
    expected = 0.0
    for a, b in zip(original.tolist(), perturbed.tolist()):
        p, q = softmax(a, temperature), softmax(b, temperature)
        expected += sum(pi * math.log(pi / qi) + qi * math.log(qi / pi) for pi, qi in zip(p, q))
    expected /= 2
    term = PredictionConsistency(weight=0.5, temperature=temperature)
    assert term(original, perturbed).item() == pytest.approx(expected, rel=1e-5)
    streams = term.from_streams(StreamOutput(logits=original), StreamOutput(logits=perturbed), torch.tensor([0, 1]))
    assert streams.item() == pytest.approx(expected, rel=1e-5)
    assert term(original, original).item() == pytest.approx(0.0, abs=1e-7)


def test_registered_needs_only_logits_and_passes_gradients_to_both_streams():
    assert PairLoss.by_name("prediction_consistency") is PredictionConsistency
    assert PredictionConsistency().request() == StreamRequest()
    original = torch.randn(3, 4, requires_grad=True)
    perturbed = torch.randn(3, 4, requires_grad=True)
    PredictionConsistency()(original, perturbed).backward()
    assert original.grad.abs().sum() > 0 and perturbed.grad.abs().sum() > 0
    with pytest.raises(ConfigurationError, match="temperature"):
        PredictionConsistency(temperature=0)


@pytest.mark.parametrize("temperature", [1.0, 2.0])
def test_target_original_is_the_one_directional_kl_to_the_original_prediction(temperature):
    original = torch.tensor([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3]], requires_grad=True)
    perturbed = torch.tensor([[1.0, 1.0, 0.0], [0.3, -0.2, 0.9]], requires_grad=True)
    expected = 0.0
    for a, b in zip(original.tolist(), perturbed.tolist()):
        p, q = softmax(a, temperature), softmax(b, temperature)
        expected += sum(pi * math.log(pi / qi) for pi, qi in zip(p, q))
    expected /= 2
    term = PredictionConsistency(temperature=temperature, target="original")
    value = term(original, perturbed)
    assert value.item() == pytest.approx(expected, rel=1e-5)
    value.backward()
    # the original prediction is a fixed target: only the perturbed stream is moved
    assert original.grad is None or original.grad.abs().sum() == 0
    assert perturbed.grad.abs().sum() > 0
    # its gradient on the perturbed logits is (q - p) / T, the KL's with p held fixed
    p = torch.softmax(original.detach() / temperature, -1)
    q = torch.softmax(perturbed.detach() / temperature, -1)
    assert torch.allclose(perturbed.grad, (q - p) / temperature / 2, atol=1e-6)
    with pytest.raises(ConfigurationError, match="target.*'both_ways'"):
        PredictionConsistency(target="both_ways")
