"""`eapr_epoch_evaluation` (`EAPR_EPOCH_EVAL`) scores every epoch on the inputs named, and only
scores: the run it watches is the run it would have been without it, weight for weight."""
import json

import pytest
import torch

from tests.support.cli import run_allennlp
from tests.support.tasks import tiny_ext_vars

pytestmark = pytest.mark.slow


def test_scoring_every_epoch_leaves_the_run_unchanged(tiny_encoders, nli_files, synonym_table, tmp_path):
    env = tiny_ext_vars(tiny_encoders["tiny-bert"], nli_files["en"], nli_files["de"], synonym_table, EAPR_EPOCHS="2")
    scored = {**env, "EAPR_EPOCH_EVAL": f"dev={nli_files['de']};test={nli_files['fr']},{nli_files['zh']}"}
    for name, variables in (("plain", env), ("scored", scored)):
        run_allennlp(["train", "training_configs/xnli_eapr.jsonnet", "-s", tmp_path / name], variables)
    assert not (tmp_path / "plain" / "language_curves.jsonl").exists()
    curves = (tmp_path / "scored" / "language_curves.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in curves] == [0, 1]
    for epoch in (1, 2):
        plain, scored_weights = (torch.load(tmp_path / name / f"model_state_e{epoch}_b0.th") for name in ("plain", "scored"))
        assert plain.keys() == scored_weights.keys()
        assert all(torch.equal(plain[k], scored_weights[k]) for k in plain), f"epoch {epoch}: the weights differ"
    metrics = [json.loads((tmp_path / name / "metrics.json").read_text()) for name in ("plain", "scored")]
    for key in ("training_loss", "validation_accuracy", "best_epoch"):
        assert metrics[0][key] == metrics[1][key], key
