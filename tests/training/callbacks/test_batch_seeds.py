"""
`eapr_batch_seeds`: a run killed with SIGKILL mid-epoch and resumed with `allennlp train --recover`
ends with the same weights and metrics as an uninterrupted run, bit for bit, which also shows that
two runs with one seed agree (the resumed run starts as a second run of the seed; the real CLI on a
tiny encoder; the killing callback is test-only, in tests/support/callbacks.py).
With a ramped-up term weight (`EAPR_RAMP_UP`) the resumed run also continues the ramp where the
checkpoint left it, not from 0.
"""
import json

import pytest
import torch

from tests.support.cli import run_allennlp
from tests.support.tasks import tiny_ext_vars

pytestmark = pytest.mark.slow
VOLATILE = ("training_duration", "peak_worker_0_memory_MB", "training_worker_0_memory_MB")


@pytest.fixture
def env(tiny_encoders, nli_files, synonym_table):
    return tiny_ext_vars(tiny_encoders["tiny-bert"], nli_files["en"], nli_files["de"], synonym_table,
                         EAPR_EPOCHS="2")


def stable(metrics):
    return {k: v for k, v in metrics.items() if k not in VOLATILE}


@pytest.mark.parametrize("bucket, ramp_up", [("false", ""), ("true", "attention_pull=50")])
def test_resume_after_sigkill_matches_an_uninterrupted_run_and_runs_are_deterministic(bucket, ramp_up, env,
                                                                                       tmp_path):
    # shuffled batches in file order, or length-bucketed with Attention-Pull's weight ramped up over
    # more batches than the run has (so every step's weight depends on the restored batch count)
    env = {**env, "EAPR_BUCKET": bucket, "EAPR_RAMP_UP": ramp_up}
    def run(name, kill):
        marker = tmp_path / f"{name}.killed"
        if not kill:
            marker.write_text("no kill in this run")
        overrides = json.dumps({
            "trainer.checkpointer": {"save_every_num_batches": 2},
            "trainer.callbacks": [{"type": "eapr_batch_seeds", "seed": 7},
                                  {"type": "eapr_test_kill", "after_batches": 7, "marker": str(marker)}],
        })
        args = ["train", "training_configs/xnli_eapr.jsonnet", "-s", str(tmp_path / name), "-o", overrides,
                "--include-package", "tests.support.callbacks"]
        first = run_allennlp(args, env, check=not kill)
        if kill:
            assert first.returncode == -9 and marker.exists(), first.stderr[-3000:]  # SIGKILL
            assert not (tmp_path / name / "model.tar.gz").exists()
            run_allennlp(args + ["--recover"], env)
        return (json.loads((tmp_path / name / "metrics.json").read_text()),
                torch.load(tmp_path / name / "model_state_e2_b0.th"))

    plain, plain_weights = run("plain", kill=False)
    resumed, resumed_weights = run("resumed", kill=True)
    assert stable(plain) == stable(resumed)
    if ramp_up:
        assert 7 < int(plain_weights["_ramp_seen"]) < 50  # counted past the kill, still ramping
    for name, tensor in plain_weights.items():
        assert torch.equal(tensor, resumed_weights[name]), name
