"""
The researcher's mistakes that used to end with exit 0 and a wrong number, through the real CLI on
a tiny encoder: each now fails with one message naming the file, line or setting.
"""
import json
import logging

import pytest
from allennlp.common import Params

from eapr_plugin.models.archival import check_finished, load_archive
from tests.support.cli import REPO, run_allennlp
from tests.support.tasks import tiny_ext_vars

pytestmark = pytest.mark.slow
TRAIN = ["train", "training_configs/xnli_eapr.jsonnet", "-s"]


@pytest.fixture(scope="module")
def archive(tiny_encoders, nli_files, synonym_table, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("trained") / "run"
    run_allennlp(TRAIN + [run_dir], tiny_ext_vars(tiny_encoders["tiny-bert"], nli_files["en"], nli_files["en"],
                                                  synonym_table))
    return str(run_dir / "model.tar.gz")


def failure(args, env=None):
    result = run_allennlp(args, env, check=False)
    assert result.returncode != 0, result.stdout[-2000:]
    return result.stderr.strip().splitlines()[-1]


def test_scoring_rows_without_gold_labels_fails(archive, tmp_path):
    test = tmp_path / "test-de.tsv"
    test.write_text("Die Katze schläft .\tEin Mann liest .\nDie Kinder spielen .\tDer Hund bellt .\n", encoding="utf-8")
    last = failure(["evaluate", archive, str(test)])
    assert "carry no gold label" in last and "allennlp predict" in last
    last = failure(["evaluate-languages", archive, str(test), "--output-dir", str(tmp_path / "out")])
    assert "test-de.tsv: 2 of 2 rows carry no gold label" in last and "allennlp predict" in last


def test_a_file_of_unknown_language_fails_unless_named(archive, nli_files, tmp_path):
    renamed = tmp_path / "german_dev.tsv"
    renamed.write_text(open(nli_files["de"], encoding="utf-8").read(), encoding="utf-8")
    last = failure(["evaluate-languages", archive, str(renamed), nli_files["en"], "--output-dir", str(tmp_path / "a")])
    assert "german_dev.tsv: cannot tell its language" in last and "LANG=" in last
    run_allennlp(["evaluate-languages", archive, f"de={renamed}", nli_files["en"], "--output-dir", str(tmp_path / "b")])
    assert (tmp_path / "b" / "results.md").read_text().splitlines()[0].startswith("| model | en | de |")


def test_training_on_nothing_fails_naming_the_source(tiny_encoders, nli_files, synonym_table, tmp_path):
    empty = tmp_path / "dev-en.tsv"
    empty.write_text("", encoding="utf-8")
    env = tiny_ext_vars(tiny_encoders["tiny-bert"], str(empty), nli_files["en"], synonym_table)
    assert f"{empty}: no instances to read: it holds no data rows" in failure(TRAIN + [tmp_path / "a"], env)
    env = tiny_ext_vars(tiny_encoders["tiny-bert"], nli_files["en"], nli_files["en"], synonym_table,
                        EAPR_DEV_START="100000")
    last = failure(TRAIN + [tmp_path / "b"], env)
    assert "no instances to read: the row range starts at row 100000" in last and "EAPR_DEV_DATA" in last
    assert not (tmp_path / "a" / "model.tar.gz").exists() and not (tmp_path / "b" / "model.tar.gz").exists()


def test_a_method_that_would_be_off_fails(tiny_encoders, nli_files, synonym_table, tmp_path):
    unrelated = tmp_path / "synonyms.json"
    unrelated.write_text('{"zebra": ["okapi"]}', encoding="utf-8")
    env = tiny_ext_vars(tiny_encoders["tiny-bert"], nli_files["en"], nli_files["en"], str(unrelated))
    assert "none of the" in failure(TRAIN + [tmp_path / "a"], env)
    env = tiny_ext_vars(tiny_encoders["tiny-bert"], nli_files["en"], nli_files["en"], synonym_table,
                        EAPR_NUM_PERTURBATIONS="0")
    assert "EAPR_NUM_PERTURBATIONS='0': must be >= 1" in failure(TRAIN + [tmp_path / "b"], env)
    env["EAPR_NUM_PERTURBATIONS"], env["EAPR_ALPHA"] = "2", "0.1x"
    assert "EAPR_ALPHA='0.1x': expected a number" in failure(TRAIN + [tmp_path / "c"], env)


def test_predict_refuses_lines_it_cannot_align(archive, tmp_path):
    good = '{"premise": "Le chat dort .", "hypothesis": "Un homme lit ."}'
    for lines, message in (([good, "", good], "in.jsonl:2: blank line"),
                           ([good, '{"premise": "Le chat dort ."}'], "in.jsonl:2: this model classifies sentence pairs")):
        inputs = tmp_path / "in.jsonl"
        inputs.write_text("\n".join(lines) + "\n", encoding="utf-8")
        assert message in failure(["predict", archive, str(inputs), "--output-file", str(tmp_path / "o.jsonl"), "--silent"])


def test_a_truncated_archive_is_named_incomplete_by_evaluate_and_predict(archive, nli_files, tmp_path):
    broken = tmp_path / "run" / "model.tar.gz"
    broken.parent.mkdir()
    broken.write_bytes(open(archive, "rb").read()[:4096])  # a run killed while archiving
    for args in (["evaluate", str(broken), nli_files["de"]],
                 ["predict", str(broken), nli_files["de"], "--silent", "--output-file", str(tmp_path / "o")]):
        last = failure(args)
        assert "model.tar.gz is incomplete (4096 bytes" in last and "--recover" in last


def test_an_interrupted_runs_archive_is_refused_or_marked_until_recover_finishes_it(
        tiny_encoders, nli_files, synonym_table, tmp_path, monkeypatch, caplog):
    # `allennlp train` archives the best epoch so far when training is interrupted (here SIGTERM in
    # the 2nd of 2 epochs): the archive is whole, and only the run's status can tell
    env = tiny_ext_vars(tiny_encoders["tiny-bert"], nli_files["en"], nli_files["en"], synonym_table, EAPR_EPOCHS="2")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    callbacks = Params.from_file(str(REPO / TRAIN[1])).as_dict()["trainer"]["callbacks"]  # the recipe's own
    marker = tmp_path / "signalled"
    interrupt = {"type": "eapr_test_kill", "after_epochs": 1, "signal": "SIGTERM", "marker": str(marker)}
    run_dir = tmp_path / "run"
    args = TRAIN + [run_dir, "-o", json.dumps({"trainer.callbacks": callbacks + [interrupt]}),
                    "--include-package", "tests.support.callbacks"]
    assert run_allennlp(args, env, check=False).returncode != 0 and marker.exists()
    archive = run_dir / "model.tar.gz"
    assert archive.exists()

    out = tmp_path / "scored"
    last = failure(["evaluate-languages", archive, nli_files["de"], "--output-dir", out], env)
    assert f"{archive} holds an unfinished run: training was stopped by SigTermReceived after 1 of 2 epochs" in last
    assert "--recover" in last and "--allow-unfinished" in last and not out.exists()
    run_allennlp(["evaluate-languages", archive, nli_files["de"], "--output-dir", out, "--allow-unfinished"], env)
    run = json.loads((out / "metrics.json").read_text())["run"]
    assert (run["finished"], run["epochs_completed"], run["num_epochs"], len(run["dev_curve"])) == (False, 1, 2, 1)
    assert run["archive_lacks"] == ["encoder", "run_status.json", "run_record.jsonl"]  # AllenNLP's interrupt archive
    assert "UNFINISHED: 1 of 2 epochs" in (out / "results.md").read_text()
    with caplog.at_level(logging.WARNING):  # what AllenNLP's `evaluate` and `predict` load it with
        load_archive(str(archive))
    assert f"UNFINISHED RUN: {archive} holds an unfinished run" in caplog.text

    # a kill between an epoch's record line and its checkpoint leaves a line the checkpoint lacks:
    # the resumed run replays that epoch, and its line must not appear twice
    with open(run_dir / "run_record.jsonl", "a", encoding="utf-8") as handle:
        handle.write(json.dumps({"epoch": 1, "optimizer_steps": -1}) + "\n")
    run_allennlp(args + ["--recover"], env)  # the marker exists: no signal this time
    status = json.loads((run_dir / "run_status.json").read_text())
    record = [json.loads(line) for line in (run_dir / "run_record.jsonl").read_text().splitlines()]
    assert [epoch["epoch"] for epoch in record] == [0, 1] and record[-1]["optimizer_steps"] > 0  # one line each
    assert status == {"finished": True, "stopped_by": None, "epochs_completed": 2, "num_epochs": 2,
                      "optimizer_steps": record[-1]["optimizer_steps"]}
    # the rewritten archive carries the status: scored without a word (what evaluate-languages checks)
    assert check_finished(str(archive)) == {**status, "dev_curve": [epoch["validation_accuracy"] for epoch in record]}
