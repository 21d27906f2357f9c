"""
Reliability through the real CLI on tiny encoders: 2-worker CPU distributed training with per-language metrics and its `--recover`, divergence, bad configs and model names.
"""
import json

import pytest

from tests.support.cli import run_allennlp
from tests.support.recovery import assert_resumed_run_matches, train
from tests.support.tasks import tiny_ext_vars

pytestmark = pytest.mark.slow


@pytest.fixture
def env(tiny_encoders, nli_files, synonym_table):
    return tiny_ext_vars(tiny_encoders["tiny-bert"], nli_files["en"], nli_files["de"], synonym_table,
                         EAPR_EPOCHS="2")


XNLI10_HEADER = "language\tgold_label\tsentence1_binary_parse\tsentence2_binary_parse\tsentence1_parse\tsentence2_parse\tsentence1\tsentence2\tpromptID\tpairID\tgenre"


def test_two_cpu_workers_train_validate_archive_and_reduce_per_language_metrics(env, nli_files, tmp_path):
    # Validation rows alternate German / French, so each worker's shard holds one language only.
    lines = [XNLI10_HEADER]
    german = open(nli_files["de"], encoding="utf-8").read().splitlines()
    french = open(nli_files["fr"], encoding="utf-8").read().splitlines()
    for index, (de, fr) in enumerate(zip(german, french)):
        for language, row in (("de", de), ("fr", fr)):
            a, b, label = row.split("\t")
            lines.append("\t".join([language, label, "(", "(", "(", "(", a, b, "1", str(index), "x"]))
    dev = tmp_path / "xnli.dev.tsv"
    dev.write_text("\n".join(lines) + "\n", encoding="utf-8")
    single_env = {**env, "EAPR_DEV_DATA": str(dev), "EAPR_BATCH_SIZE": "8", "EAPR_GRAD_ACCUM": "1"}
    # the same global batch of 8, in 2 accumulated batches of 2 per worker: with an odd number of
    # training rows (21) the shards would differ by a batch and AllenNLP's trainer would deadlock;
    # the reader's `equal_shards` leaves the last row out instead, and says so
    double_env = {**single_env, "EAPR_CPU_WORKERS": "2", "EAPR_BATCH_SIZE": "2", "EAPR_GRAD_ACCUM": "2"}
    assert len(open(env["EAPR_TRAIN_DATA"], encoding="utf-8").read().splitlines()) % 2 == 1
    run_allennlp(["train", "training_configs/xnli_eapr.jsonnet", "-s", str(tmp_path / "one")], single_env)
    run_allennlp(["train", "training_configs/xnli_eapr.jsonnet", "-s", str(tmp_path / "two")], double_env)
    one = json.loads((tmp_path / "one" / "metrics.json").read_text())
    two = json.loads((tmp_path / "two" / "metrics.json").read_text())
    assert (tmp_path / "two" / "model.tar.gz").exists()
    assert "peak_worker_1_memory_MB" in two  # two workers ran
    for worker in (0, 1):
        log = (tmp_path / "two" / f"out_worker{worker}.log").read_text()
        assert "left out the last 1 row(s) so that each of the 2 distributed workers" in log
    for metrics in (one, two):
        assert {"validation_accuracy_de", "validation_accuracy_fr"} <= set(metrics)
    # Stated tolerance: the workers shard the data and perturbations differently, so the runs
    # are not identical; on this tiny task their losses agree to within 0.05 and the EAPR terms
    # to within a factor of 2.
    assert abs(one["validation_loss"] - two["validation_loss"]) < 0.05
    assert abs(one["training_task_loss"] - two["training_task_loss"]) < 0.05
    for term in ("embedding_push", "attention_pull"):
        ratio = one[f"training_{term}_loss"] / two[f"training_{term}_loss"]
        assert 0.5 < ratio < 2.0, (term, ratio)


def test_divergence_stops_with_the_term_and_batch(env, tmp_path):
    result = run_allennlp(["train", "training_configs/xnli_eapr.jsonnet", "-s", str(tmp_path / "run")],
                      {**env, "EAPR_ALPHA": "1e39"}, check=False)
    assert result.returncode != 0
    assert "EAPR total loss is -inf at training batch 0" in result.stderr
    assert "embedding_push_loss" in result.stderr and "a weight is too large" in result.stderr


def test_misspelled_config_key_names_the_key(env, tmp_path):
    overrides = json.dumps({"model.loss_terms": [{"type": "embedding_push", "wieght": 0.1}]})
    result = run_allennlp(["train", "training_configs/xnli_eapr.jsonnet", "-s", str(tmp_path / "run"),
                       "-o", overrides], env, check=False)
    assert result.returncode != 0
    assert "Extra parameters passed to EmbeddingPush: {'wieght': 0.1}" in result.stderr


def test_unknown_model_name_offline_names_the_model(env, tmp_path):
    result = run_allennlp(["train", "training_configs/xnli_eapr.jsonnet", "-s", str(tmp_path / "run")],
                          {**env, "EAPR_ENCODER": "no-such-org/no-such-model", "HF_HUB_OFFLINE": "1"}, check=False)
    assert result.returncode != 0
    # caught before anything is built (eapr_plugin/common/preflight.py), with the setting to change
    assert ("  - EAPR_ENCODER=no-such-org/no-such-model: not a local folder and not in the Hugging Face cache, "
            "and the Hub is disabled (HF_HUB_OFFLINE=1)") in result.stderr
    assert not (tmp_path / "run").exists()


def test_two_cpu_workers_killed_mid_epoch_resume_bit_for_bit(env, tmp_path):
    """The distributed path of `--recover`: a 2-worker CPU run killed with SIGKILL inside its second
    epoch (the launcher then stops the other worker) and resumed with `allennlp train --recover`
    ends with the weights and validation metrics of an uninterrupted 2-worker run, bit for bit, and
    with its training metrics: each worker's running sums, gathered into the checkpoint, are taken
    back by that worker (tests/support/recovery.py; the single-process case is
    tests/training/callbacks/test_batch_seeds.py)."""
    double_env = {**env, "EAPR_CPU_WORKERS": "2", "EAPR_BATCH_SIZE": "2", "EAPR_GRAD_ACCUM": "2"}
    train(tmp_path, "plain", double_env)
    position = train(tmp_path, "resumed", double_env, kill_after_batches=8)
    assert position[0] == 1  # inside the second epoch: the first one replayed without a forward pass
    assert_resumed_run_matches(tmp_path, epochs=2, position=position)
    for name in ("plain", "resumed"):
        assert "peak_worker_1_memory_MB" in json.loads((tmp_path / name / "metrics.json").read_text())  # two workers
    assert {path.name for path in tmp_path.glob("plain.losses.*.jsonl")} == {"plain.losses.0.jsonl", "plain.losses.1.jsonl"}
