"""`benchmarks/report.py` on result files written here (the tables' format, no training)."""
import contextlib
import importlib.util
import io
import json

from tests.support.cli import REPO


def load_report():
    spec = importlib.util.spec_from_file_location("benchmark_report", REPO / "benchmarks" / "report.py")
    report = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(report)
    return report


def test_cross_lingual_tables(tmp_path):
    # What `evaluate-languages --cross-lingual` writes (cross_lingual.json), for two archives.
    def write(name, accuracy):
        languages = list(accuracy)
        same = [accuracy[l][l] for l in languages]
        mixed = [accuracy[a][b] for a in languages for b in languages if a != b]
        (tmp_path / name).write_text(json.dumps({
            "archive": f"runs/{name}/model.tar.gz", "languages": languages, "accuracy": accuracy,
            "summary": {"same_language_mean": sum(same) / len(same), "mixed_language_mean": sum(mixed) / len(mixed)}}))

    write("cross_lingual_xnli_eapr_seed1.json", {"en": {"en": 0.6, "de": 0.5}, "de": {"en": 0.4, "de": 0.5}})
    write("cross_lingual_xnli_baseline_seed1.json", {"en": {"en": 0.7, "de": 0.6}, "de": {"en": 0.6, "de": 0.5}})
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        load_report().tables(tmp_path)
    text = out.getvalue()
    rows = [line for line in text.splitlines() if line.startswith("| `cross_lingual_")]
    # baseline first (files sorted); same-language mean, mixed-language mean, their difference
    assert rows == ["| `cross_lingual_xnli_baseline_seed1.json` | `runs/cross_lingual_xnli_baseline_seed1.json/model.tar.gz` "
                    "| en, de | 60.0 | 60.0 | +0.0 |",
                    "| `cross_lingual_xnli_eapr_seed1.json` | `runs/cross_lingual_xnli_eapr_seed1.json/model.tar.gz` "
                    "| en, de | 55.0 | 45.0 | -10.0 |"]
    assert "| premise \\ hypothesis | en | de |" in text and "| de | 40.0 | 50.0 |" in text
