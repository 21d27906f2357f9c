"""Smoke test of `benchmarks/accuracy.py`'s weight sweep, named variants, `--oracle` and
`--reselect` (and the sweep table of `report.py`) on a tiny encoder with a tiny budget. Apart from
`test_accuracy.py` (its own small training) so that pytest-xdist runs the two side by side."""
import json

import pytest

from tests.support.cli import run_script


@pytest.mark.slow
def test_weight_sweep_variants_oracle_and_reselect(tiny_encoders, synonym_table, sib200_data, tmp_path):
    # The weight sweep: --alpha reaches the model (its own run dir), and report.py tabulates each
    # weights_*.json, one row per (α, β).
    common = ["--protocol", "sib200", "--data-dir", str(sib200_data),
              "--encoder", tiny_encoders["tiny-bert"], "--synonyms", synonym_table, "--methods", "eapr",
              "--epochs", "1", "--num-perturbations", "2", "--max-length", "32", "--batch-size", "8",
              "--runs-dir", str(tmp_path / "runs")]
    sweep = tmp_path / "sweep"
    paper_weights = sweep / "weights_sib200_a0.1_b1.0.json"
    run_script("benchmarks/accuracy.py", common + ["--seeds", "1", "--out", str(paper_weights)])  # the paper's weights, trained without --oracle
    # A named variant (recipe variables set) rides along: its own run folder, its variables in its config.
    run_script("benchmarks/accuracy.py", common + ["--seeds", "1", "--alpha", "1.0", "--out", str(sweep / "weights_sib200_a1.0_b1.0.json"),
                  "--variant", "eapr_sampled", "eapr", "EAPR_PERTURBER=subword_sampling", "--oracle",
                  "--reselect", "last"])
    # --oracle over runs trained without it: said, not silently left out
    gathered = run_script("benchmarks/accuracy.py", common + ["--seeds", "1", "--report-only", "--oracle", "--out", str(paper_weights)]).stdout
    assert "warning: --oracle: eapr seeds 1 were reused from runs trained without it" in gathered
    config = json.loads((tmp_path / "runs" / "sib200" / "eapr_a1.0_b1.0_e1_p2_seed1" / "config.json").read_text())
    assert {"type": "embedding_push", "weight": 1.0} in config["model"]["loss_terms"]
    assert config["dataset_reader"]["perturber"]["type"] == "synonym"
    sampled = json.loads((tmp_path / "runs" / "sib200" / "eapr_sampled_a1.0_b1.0_e1_p2_seed1" / "config.json").read_text())
    assert sampled["dataset_reader"]["perturber"]["type"] == "subword_sampling"
    variant = json.loads((sweep / "weights_sib200_a1.0_b1.0.json").read_text())["summary"]["eapr_sampled"]["variant"]
    assert variant == {"method": "eapr", "env": {"EAPR_PERTURBER": "subword_sampling"}}
    # --oracle: every epoch scored on each language's own dev and test set; per language the epoch
    # best on its dev set, and that epoch's test accuracy (here one epoch: the run's own test result)
    oracle_report = json.loads((sweep / "weights_sib200_a1.0_b1.0.json").read_text())
    oracle = oracle_report["records"]["eapr"]["1"]["oracle"]
    assert set(oracle["epochs"].values()) == {0}
    assert oracle["accuracy"] == pytest.approx(oracle_report["runs"]["eapr"]["1"])
    assert "oracle_average_non_english" in oracle_report["summary"]["eapr_sampled"]
    same = oracle_report["summary"]["eapr"]["oracle"]  # one epoch: oracle and English-dev pick the same weights
    assert same["minus_english_dev"]["mean"] == pytest.approx(0.0, abs=1e-12)
    assert same["english_dev_same_languages"]["mean"] == pytest.approx(oracle_report["summary"]["eapr"]["average_non_english"]["mean"])
    # --reselect last: the same runs scored again from their last epoch's checkpoint (one epoch here,
    # so the English-dev selection's own weights: the same accuracies, a difference of exactly 0)
    last = oracle_report["selections"]["last"]
    assert last["summary"]["eapr"]["non_english_by_seed"] == oracle_report["summary"]["eapr"]["non_english_by_seed"]
    assert last["minus_english_dev"]["eapr_sampled"]["mean"] == 0.0
    assert (tmp_path / "runs" / "sib200" / "eapr_a1.0_b1.0_e1_p2_seed1" / "languages_last" / "metrics.json").exists()
    assert "Selection `last`" in (sweep / "weights_sib200_a1.0_b1.0.md").read_text()
    table = run_script("benchmarks/report.py", [str(sweep)]).stdout
    assert "Accuracy of EAPR by loss weight, sib200 protocol" in table
    rows = [line for line in table.splitlines() if line.startswith("| 0.1 |") or line.startswith("| 1.0 |")]
    assert [row.split(" | ")[:3] for row in rows] == [["| 0.1", "1.0", "1"], ["| 1.0", "1.0", "1"]]
    paper = json.loads(paper_weights.read_text())["summary"]["eapr"]["average_non_english"]
    assert rows[0].endswith(f"**{100 * paper['mean']:.1f}** | - |")  # one seed: no spread to show

    # The last column compares each row with the paper's weights on the seeds both finished (seed 1).
    def non_english(path, seed):
        accuracies = json.loads(path.read_text())["runs"]["eapr"][seed]
        return sum(v for k, v in accuracies.items() if k != "eng_Latn") / (len(accuracies) - 1)
    delta = non_english(sweep / "weights_sib200_a1.0_b1.0.json", "1") - non_english(paper_weights, "1")
    assert rows[1].endswith(f" | {100 * delta:+.1f} (seeds 1) |")
