"""
The real AllenNLP commands in subprocesses, on tiny offline encoders: train, evaluate (two language
files in one call), predict, and test-install.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ALLENNLP = [sys.executable, "-m", "allennlp"]


def run_allennlp(args, extra_env=None):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", **(extra_env or {})}
    result = subprocess.run(
        ALLENNLP + args, cwd=REPO, capture_output=True, text=True, timeout=600, env=env
    )
    assert result.returncode == 0, f"allennlp {' '.join(args)} failed:\n{result.stderr[-5000:]}"
    return result


def test_test_install():
    result = run_allennlp(["test-install"])
    assert "AllenNLP version 2.10.1 installed" in result.stderr


@pytest.mark.parametrize("encoder", ["tiny-bert", "tiny-xlmr"])
def test_train_evaluate_predict(encoder, tiny_encoders, nli_files, synonym_table, tmp_path):
    run_dir = tmp_path / "run"
    ext_vars = {  # jsonnet extVars: AllenNLP reads them from the environment
        "encoder": tiny_encoders[encoder],
        "train_data": nli_files["en"],
        "dev_data": nli_files["de"],
        "synonyms": synonym_table,
    }
    run_allennlp(["train", "tests/fixtures/tiny_eapr.jsonnet", "-s", str(run_dir)], ext_vars)
    archive = run_dir / "model.tar.gz"
    assert archive.exists()
    metrics = json.loads((run_dir / "metrics.json").read_text())
    for key in ("training_task_loss", "training_robust_targets_loss",
                "training_embedding_push_loss", "training_attention_pull_loss",
                "validation_accuracy"):
        assert key in metrics, key

    # evaluate two languages in one call
    outputs = [tmp_path / "fr.json", tmp_path / "zh.json"]
    run_allennlp(
        [
            "evaluate", str(archive), f"{nli_files['fr']},{nli_files['zh']}",
            "--output-file", ",".join(map(str, outputs)),
        ]
    )
    for output in outputs:
        result = json.loads(output.read_text())
        assert 0.0 <= result["accuracy"] <= 1.0

    # predict from JSON lines (no perturbation at inference)
    inputs = tmp_path / "inputs.jsonl"
    inputs.write_text(
        json.dumps({"premise": "Le chat dort .", "hypothesis": "Un homme lit ."}) + "\n"
        + json.dumps({"sentence1": "Die Katze schläft .", "sentence2": "Die Kinder spielen ."}) + "\n",
        encoding="utf-8",
    )
    predictions = tmp_path / "predictions.jsonl"
    run_allennlp(["predict", str(archive), str(inputs), "--output-file", str(predictions), "--silent"])
    lines = [json.loads(line) for line in predictions.read_text().splitlines()]
    assert len(lines) == 2
    for line in lines:
        assert line["label"] in ("entailment", "neutral", "contradiction")
        assert abs(sum(line["probs"]) - 1.0) < 1e-5
