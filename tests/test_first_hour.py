"""
A researcher's first hour through the real CLI on tiny encoders: archives that travel, commands
that work from any folder, CPU by default, every missing input reported before anything starts.
"""
import json
import shutil
import tarfile

import pytest

from tests.support.cli import REPO, run_allennlp
from tests.support.tasks import tiny_ext_vars, write_pair_task, write_synonym_table

pytestmark = pytest.mark.slow


def test_an_archive_moved_to_another_machine_predicts_and_evaluates(tiny_encoders, tmp_path):
    machine = tmp_path / "training-machine"
    encoder = machine / "encoder"
    shutil.copytree(tiny_encoders["tiny-bert"], encoder)
    data = write_pair_task(str(machine / "data"))
    synonyms = write_synonym_table(str(machine / "synonyms.json"))
    env = tiny_ext_vars(str(encoder), data["en"], data["en"], synonyms)
    del env["EAPR_NUM_GPUS"]  # the default: the CPU on a machine without a GPU
    run_allennlp(["train", "training_configs/xnli_eapr.jsonnet", "-s", machine / "run"], env)
    with tarfile.open(machine / "run" / "model.tar.gz") as archive:
        names = archive.getnames()
    assert "encoder/config.json" in names and "encoder/tokenizer.json" in names
    assert not any(name.startswith("encoder/") and name.endswith((".safetensors", ".bin")) for name in names)

    other = tmp_path / "other-machine"
    other.mkdir()
    archive = other / "model.tar.gz"
    shutil.move(str(machine / "run" / "model.tar.gz"), archive)
    test = write_pair_task(str(other / "data"))
    shutil.rmtree(machine)  # encoder folder, synonym table, training data, run folder: all gone

    inputs = other / "inputs.jsonl"
    inputs.write_text(json.dumps({"premise": "Le chat dort .", "hypothesis": "Un homme lit ."}) + "\n", encoding="utf-8")
    run_allennlp(["predict", archive, inputs, "--output-file", other / "out.jsonl", "--silent"], {"EAPR_ENCODER": ""})
    assert json.loads((other / "out.jsonl").read_text())["label"] in ("entailment", "neutral", "contradiction")
    run_allennlp(["evaluate", archive, test["de"], "--output-file", other / "de.json"], {"EAPR_ENCODER": ""})
    assert 0.0 <= json.loads((other / "de.json").read_text())["accuracy"] <= 1.0
    # the documented override: EAPR_ENCODER names a folder of the same encoder
    run_allennlp(["evaluate-languages", archive, other / "data", "--output-dir", other / "languages"],
                 {"EAPR_ENCODER": tiny_encoders["tiny-bert"]})
    report = json.loads((other / "languages" / "metrics.json").read_text())
    assert report["languages"]["de"]["accuracy"] == json.loads((other / "de.json").read_text())["accuracy"]


def test_commands_work_from_any_folder(tiny_encoders, nli_files, synonym_table, tmp_path):
    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    (home / ".allennlp").mkdir(parents=True)
    (home / ".allennlp" / "plugins").write_text("eapr_plugin\n", encoding="utf-8")  # README's one step
    elsewhere.mkdir()
    env = {**tiny_ext_vars(tiny_encoders["tiny-bert"], nli_files["en"], nli_files["en"], synonym_table), "HOME": str(home)}
    config = str(REPO / "training_configs" / "xnli_eapr.jsonnet")
    run_allennlp(["train", config, "-s", elsewhere / "run"], env, cwd=elsewhere)
    run_allennlp(["evaluate-languages", elsewhere / "run" / "model.tar.gz", nli_files["de"],
                  "--output-dir", elsewhere / "languages"], env, cwd=elsewhere)
    assert (elsewhere / "languages" / "metrics.json").exists()
    # without the plugins file, `--include-package` makes the recipe train from any folder too
    run_allennlp(["train", config, "-s", elsewhere / "run2", "--include-package", "eapr_plugin"],
                 {**env, "HOME": str(tmp_path)}, cwd=elsewhere)


def test_every_missing_input_is_reported_before_anything_starts(tiny_encoders, nli_files, tmp_path):
    env = tiny_ext_vars(str(tmp_path / "no-encoder"), str(tmp_path / "no-train.tsv"), str(tmp_path / "no-dev.tsv"),
                        str(tmp_path / "no-synonyms.json"))
    result = run_allennlp(["train", "training_configs/xnli_eapr.jsonnet", "-s", tmp_path / "run"], env, check=False)
    assert result.returncode != 0
    for setting in ("EAPR_ENCODER", "EAPR_SYNONYMS", "EAPR_TRAIN_DATA", "EAPR_DEV_DATA"):
        assert f"  - {setting}=" in result.stderr, setting
    assert "4 input(s) cannot be used, nothing was started" in result.stderr
    assert not (tmp_path / "run").exists()
    # a first run that stopped before its first checkpoint: the rerun says --force, not --recover
    (tmp_path / "failed").mkdir()
    (tmp_path / "failed" / "config.json").write_text("{}")
    env = tiny_ext_vars(tiny_encoders["tiny-bert"], nli_files["en"], nli_files["en"], str(tmp_path / "no-synonyms.json"))
    result = run_allennlp(["train", "training_configs/xnli_eapr.jsonnet", "-s", tmp_path / "failed"], env, check=False)
    assert "nothing to --recover: rerun with --force" in result.stderr and "EAPR_SYNONYMS=" in result.stderr
