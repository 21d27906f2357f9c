"""
The real AllenNLP commands in subprocesses, on tiny offline encoders: `allennlp train` of the
user's entry point `training_configs/xnli_eapr.jsonnet` with only extVars pointing at local files,
`evaluate` (two language files in one call), `evaluate-languages`, `predict`, and `test-install`.
"""
import json
from pathlib import Path

import pytest

from tests.support.cli import run_allennlp
from tests.support.tasks import tiny_ext_vars, write_parallel_pair_task

pytestmark = pytest.mark.slow


#: start-up noise of the pinned stack that `make venv` removes (docs/PINS.md); none is about a run.
NOISE = ("nltk_data", "pkg_resources", "Failed to load image", "FutureWarning", "SdpaSelfAttention")


def test_test_install_and_help_are_quiet():
    result = run_allennlp(["test-install"])
    assert "AllenNLP version 2.10.1 installed" in result.stderr
    for output in (result.stderr, run_allennlp(["--help"]).stderr):
        assert not [noise for noise in NOISE if noise in output], output[-3000:]


@pytest.mark.parametrize("encoder", ["tiny-bert", "tiny-xlmr"])
def test_train_evaluate_predict(encoder, tiny_encoders, nli_files, synonym_table, tmp_path):
    run_dir = tmp_path / "run"
    trained = run_allennlp(
        ["train", "training_configs/xnli_eapr.jsonnet", "-s", str(run_dir)],
        tiny_ext_vars(tiny_encoders[encoder], nli_files["en"], nli_files["en"], synonym_table),
    )
    assert not [noise for noise in NOISE if noise in trained.stderr], trained.stderr[-3000:]
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

    # every language in one call: JSON, markdown table, bar chart
    table_dir = tmp_path / "languages"
    result = run_allennlp(
        ["evaluate-languages", str(archive), str(Path(nli_files["en"]).parent), "--output-dir", str(table_dir)]
    )
    report = json.loads((table_dir / "metrics.json").read_text())
    assert sorted(report["languages"]) == sorted(nli_files)
    accuracies = [report["languages"][language]["accuracy"] for language in nli_files if language != "en"]
    assert report["summary"]["average_non_english"] == pytest.approx(sum(accuracies) / len(accuracies))
    assert report["summary"]["english"] == report["languages"]["en"]["accuracy"]
    # batches bucketed by length, yet the same accuracy as `allennlp evaluate` in file order
    for language, output in zip(("fr", "zh"), outputs):
        assert report["languages"][language]["accuracy"] == json.loads(output.read_text())["accuracy"]
    table = (table_dir / "results.md").read_text()
    header, _, row = table.splitlines()
    assert header.split(" | ")[-2:] == ["avg (non-en)", "avg (all) |"]
    assert row.split(" | ")[-2] == f"**{100 * report['summary']['average_non_english']:.1f}**"
    assert (table_dir / "accuracy.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    if encoder == "tiny-bert":
        # the generalized cross-lingual setting: premise and hypothesis from parallel files of two
        # languages; `allennlp evaluate` on one `cross:` path, `evaluate-languages --cross-lingual` on all pairs
        parallel = write_parallel_pair_task(str(tmp_path / "parallel"))
        single = [tmp_path / "de.json", tmp_path / "fr_zh.json"]
        run_allennlp(["evaluate", str(archive), f"{parallel['de']},cross:{parallel['fr']}::{parallel['zh']}",
                      "--output-file", ",".join(map(str, single))])
        cross_dir = tmp_path / "cross"
        run_allennlp(["evaluate-languages", str(archive), *parallel.values(),
                      "--cross-lingual", "--output-dir", str(cross_dir)])
        cross = json.loads((cross_dir / "cross_lingual.json").read_text())
        assert cross["languages"] == ["de", "fr", "zh"]
        # a same-language cell is the file itself; a mixed one what `allennlp evaluate` gives its cross: path
        assert cross["accuracy"]["de"]["de"] == json.loads(single[0].read_text())["accuracy"]
        assert cross["accuracy"]["fr"]["zh"] == json.loads(single[1].read_text())["accuracy"]
        assert cross["pairs"]["fr/zh"]["num_instances"] == len(open(parallel["fr"]).read().splitlines())
        mixed = [cross["accuracy"][a][b] for a in cross["languages"] for b in cross["languages"] if a != b]
        assert cross["summary"]["mixed_language_mean"] == pytest.approx(sum(mixed) / 6)
        rows = (cross_dir / "cross_lingual.md").read_text().splitlines()
        assert rows[0] == "| premise \\ hypothesis | de | fr | zh |" and rows[3].startswith("| fr | ")
        assert (cross_dir / "cross_lingual.png").read_bytes()[:4] == b"\x89PNG"

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
