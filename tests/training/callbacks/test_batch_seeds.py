"""
`eapr_batch_seeds`: a run killed with SIGKILL mid-epoch and resumed with `allennlp train --recover`
ends with the same weights and validation metrics as an uninterrupted run, bit for bit, which also
shows that two runs with one seed agree (the resumed run starts as a second run of the seed; the
real CLI on a tiny encoder with the recipe's own callbacks; tests/support/recovery.py, whose test-only
callbacks kill the run and log each batch's loss). The resumed epoch's training metrics are the
uninterrupted run's too: the checkpoint carries their running sums (`eapr_run_record`).
With a ramped-up term weight (`EAPR_RAMP_UP`) the resumed run also continues the ramp where the
checkpoint left it, not from 0. That case also resumes from a checkpoint stripped of the metric
sums (as one written before `eapr_run_record` carried them): the resumed epoch's training loss is
then the mean over the batches after the checkpoint, and the epoch is marked.
"""
import pytest
import torch

from tests.support.recovery import assert_resumed_run_matches, train
from tests.support.tasks import tiny_ext_vars

pytestmark = pytest.mark.slow


@pytest.fixture
def env(tiny_encoders, nli_files, synonym_table):
    return tiny_ext_vars(tiny_encoders["tiny-bert"], nli_files["en"], nli_files["de"], synonym_table,
                         EAPR_EPOCHS="2")


@pytest.mark.parametrize("bucket, ramp_up, strip_metric_sums", [("false", "", False),
                                                                 ("true", "attention_pull=50", True)])
def test_resume_after_sigkill_matches_an_uninterrupted_run_and_runs_are_deterministic(bucket, ramp_up,
                                                                                       strip_metric_sums, env,
                                                                                       tmp_path):
    # shuffled batches in file order, or length-bucketed with Attention-Pull's weight ramped up over
    # more batches than the run has (so every step's weight depends on the restored batch count)
    env = {**env, "EAPR_BUCKET": bucket, "EAPR_RAMP_UP": ramp_up}
    train(tmp_path, "plain", env)
    position = train(tmp_path, "resumed", env, kill_after_batches=4, strip_metric_sums=strip_metric_sums)
    assert_resumed_run_matches(tmp_path, epochs=2, position=position, strip_metric_sums=strip_metric_sums)
    if ramp_up:
        assert 4 < int(torch.load(tmp_path / "plain" / "model_state_e2_b0.th")["_ramp_seen"]) < 50  # counted past the kill, still ramping
