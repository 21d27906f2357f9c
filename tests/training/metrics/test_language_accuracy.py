import pytest
import torch

from eapr_plugin.training.metrics import LanguageAccuracy


def test_accuracy_per_language_against_a_hand_count():
    metric = LanguageAccuracy()
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 3.0], [5.0, 0.0]])
    gold = torch.tensor([0, 0, 0, 1, 1])  # hits: yes, no, yes, yes, no
    metric(logits, gold, ["de", "de", "fr", "fr", None])
    assert metric.get_metric() == pytest.approx({"accuracy_de": 0.5, "accuracy_fr": 1.0, "accuracy_unknown": 0.0})
    metric(logits[:1], gold[:1], ["de"])
    assert metric.get_metric(reset=True)["accuracy_de"] == pytest.approx(2 / 3)
    assert metric.get_metric() == {}
