"""Smoke tests: every benchmark script runs end to end on a tiny encoder with a tiny budget."""
import json
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.support.cli import REPO, run_allennlp, run_script
from tests.support.tasks import tiny_ext_vars, write_topic_task


def run(args):
    return run_script(args[0], args[1:])


@pytest.mark.slow
def test_speed_benchmark(tiny_encoders, nli_files, synonym_table, tmp_path):
    out = tmp_path / "speed.json"
    common = ["--data", nli_files["en"], "--synonyms", synonym_table, "--max-length", "32"]
    run(["benchmarks/speed.py", "--encoders", tiny_encoders["tiny-bert"], tiny_encoders["tiny-xlmr"],
         "--batch-sizes", "4", "--rounds", "2", "--warmup", "0", "--out", str(out)] + common)
    report = json.loads(out.read_text())
    assert [(r["layers"], r["batch_size"]) for r in report["results"]] == [(6, 4), (6, 4)]
    for result in report["results"]:
        median = result["median_step_s"]
        assert set(median) == {"reference", "eapr_exact", "eapr_masked", "plain_padded", "plain_dynamic"}
        assert result["exact_speedup_over_reference"] == pytest.approx(median["reference"] / median["eapr_exact"])
        assert result["eapr_masked_over_plain_step_time"] == pytest.approx(median["eapr_masked"] / median["plain_dynamic"])
    # CPU peak memory of one variant, measured in its own process (what --memory does per variant)
    one = run(["benchmarks/speed.py", "--one", "reference", "--encoders", tiny_encoders["tiny-bert"],
               "--batch-sizes", "4"] + common).stdout
    assert json.loads(one.strip().splitlines()[-1])["peak_mb"] > 0
    table = run(["benchmarks/report.py", str(tmp_path)]).stdout
    assert table.count("| 6 layers | 4 |") == 2


@pytest.mark.slow
def test_accuracy_benchmark(tiny_encoders, synonym_table, tmp_path):
    data = tmp_path / "data"
    for split in ("train", "dev", "test"):
        write_topic_task(str(data / "sib200"), split=split)
    out = tmp_path / "accuracy.json"
    run(["benchmarks/accuracy.py", "--protocol", "sib200", "--data-dir", str(data),
         "--encoder", tiny_encoders["tiny-bert"], "--synonyms", synonym_table, "--methods", "baseline", "eapr",
         "--seeds", "1", "2", "--epochs", "1", "--num-perturbations", "2", "--max-length", "32", "--batch-size", "8",
         "--runs-dir", str(tmp_path / "runs"), "--out", str(out)])
    report = json.loads(out.read_text())
    assert set(report["summary"]) == {"baseline", "eapr"}
    eapr = report["summary"]["eapr"]
    assert set(eapr["per_language"]) == {"eng_Latn", "deu_Latn", "fra_Latn", "zho_Hans"}
    assert eapr["average_non_english"]["n"] == 2
    # equal optimizer steps: plain fine-tuning ran 2 epochs over the originals, EAPR 1 over 2 copies
    records = report["records"]
    assert [r["epochs"] for r in records["baseline"].values()] == [2, 2]
    assert [r["epochs"] for r in records["eapr"].values()] == [1, 1]
    assert report["summary"]["baseline"]["optimizer_steps"] == report["summary"]["eapr"]["optimizer_steps"]
    assert all(len(r["dev_curve"]) == r["epochs"] and r["selected_epoch"] in range(r["epochs"])
               for by_seed in records.values() for r in by_seed.values())
    pair = report["paired"]["eapr - baseline"]["average_non_english"]
    by_seed = {m: report["summary"][m]["non_english_by_seed"] for m in ("eapr", "baseline")}
    assert pair["differences"] == pytest.approx([by_seed["eapr"][s] - by_seed["baseline"][s] for s in ("1", "2")])
    text = out.with_suffix(".md").read_text()
    assert "avg non-en" in text and "| eapr - baseline |" in text
    # --report-only gathers what is finished (seeds 1-2 of eapr) and trains nothing new.
    gathered = tmp_path / "gathered.json"
    run(["benchmarks/accuracy.py", "--protocol", "sib200", "--data-dir", str(data),
         "--encoder", tiny_encoders["tiny-bert"], "--synonyms", synonym_table, "--methods", "baseline", "eapr",
         "--seeds", "1", "2", "3", "--epochs", "1", "--num-perturbations", "2", "--max-length", "32", "--batch-size", "8",
         "--runs-dir", str(tmp_path / "runs"), "--out", str(gathered), "--report-only"])
    summary = json.loads(gathered.read_text())["summary"]
    assert set(summary) == {"baseline", "eapr"} and summary["eapr"]["seeds"] == [1, 2]
    assert summary["eapr"]["average_non_english"] == eapr["average_non_english"]
    assert not list((tmp_path / "runs" / "sib200").glob("*seed3*"))
    # report.py turns the JSON into the README's table, between the markers, prose untouched.
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- results:start -->\nold\n<!-- results:end -->\nprose\n")
    run(["benchmarks/report.py", str(tmp_path), "--benchmarks", str(readme)])
    text = readme.read_text()
    assert text.startswith("intro\n<!-- results:start -->\n") and text.endswith("<!-- results:end -->\nprose\n")
    assert "old" not in text and "Accuracy, sib200 protocol" in text
    row = next(line for line in text.splitlines() if line.startswith("| eapr |"))
    paper_avg = f"**{100 * eapr['average_non_english']['mean']:.1f} ± {100 * eapr['average_non_english']['std']:.1f}**"
    assert paper_avg in row
    # The weight sweep: --alpha reaches the model (its own run dir), and report.py tabulates each
    # weights_*.json, one row per (α, β).
    common = ["benchmarks/accuracy.py", "--protocol", "sib200", "--data-dir", str(data),
              "--encoder", tiny_encoders["tiny-bert"], "--synonyms", synonym_table, "--methods", "eapr",
              "--epochs", "1", "--num-perturbations", "2", "--max-length", "32", "--batch-size", "8",
              "--runs-dir", str(tmp_path / "runs")]
    sweep = tmp_path / "sweep"
    # A named variant (recipe variables set) rides along: its own run folder, its variables in its config.
    run(common + ["--seeds", "1", "--alpha", "1.0", "--out", str(sweep / "weights_sib200_a1.0_b1.0.json"),
                  "--variant", "eapr_sampled", "eapr", "EAPR_PERTURBER=subword_sampling", "--oracle"])
    run(common + ["--seeds", "1", "2", "--report-only", "--out", str(sweep / "weights_sib200_a0.1_b1.0.json")])
    config = json.loads((tmp_path / "runs" / "sib200" / "eapr_a1.0_b1.0_e1_seed1" / "config.json").read_text())
    assert {"type": "embedding_push", "weight": 1.0} in config["model"]["loss_terms"]
    assert config["dataset_reader"]["perturber"]["type"] == "synonym"
    sampled = json.loads((tmp_path / "runs" / "sib200" / "eapr_sampled_a1.0_b1.0_e1_seed1" / "config.json").read_text())
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
    table = run(["benchmarks/report.py", str(sweep)]).stdout
    assert "Accuracy of EAPR by loss weight, sib200 protocol" in table
    rows = [line for line in table.splitlines() if line.startswith("| 0.1 |") or line.startswith("| 1.0 |")]
    assert [row.split(" | ")[:3] for row in rows] == [["| 0.1", "1.0", "1,2"], ["| 1.0", "1.0", "1"]]
    assert rows[0].endswith(f"{paper_avg} | - |")
    # The last column compares each row with the paper's weights on the seeds both finished (seed 1).
    def non_english(path, seed):
        accuracies = json.loads(path.read_text())["runs"]["eapr"][seed]
        return sum(v for k, v in accuracies.items() if k != "eng_Latn") / (len(accuracies) - 1)
    delta = non_english(sweep / "weights_sib200_a1.0_b1.0.json", "1") - non_english(sweep / "weights_sib200_a0.1_b1.0.json", "1")
    assert rows[1].endswith(f" | {100 * delta:+.1f} (seeds 1) |")


@pytest.mark.slow
def test_term_influence_benchmark(tiny_encoders, synonym_table, nli_files, tmp_path):
    out = tmp_path / "influence.json"
    run(["benchmarks/term_influence.py", "--encoder", tiny_encoders["tiny-bert"], "--task", "xnli",
         "--train", nli_files["en"], "--synonyms", synonym_table, "--max-length", "32", "--batch-size", "4",
         "--batches", "2", "--steps", "3", "--out", str(out)])
    report = json.loads(out.read_text())
    for moment in ("grad_norm_start", "grad_norm_end"):
        assert set(report[moment]) == {"task_loss", "robust_targets_loss", "embedding_push_loss", "attention_pull_loss"}
        assert all(value > 0 for value in report[moment].values())
    start = report["grad_norm_start"]
    for key, ratio in report["ratio_to_task_start"].items():
        assert ratio == pytest.approx(start[key] / start["task_loss"])
    # the weighted terms differ in size from the task CE (a ratio stuck at 1 would mean one gradient
    # measured twice)
    assert report["ratio_to_task_start"]["embedding_push_loss"] != pytest.approx(1.0)


@pytest.mark.slow
def test_alignment_benchmark(tiny_encoders, nli_files, synonym_table, tmp_path):
    env = tiny_ext_vars(tiny_encoders["tiny-bert"], nli_files["en"], nli_files["en"], synonym_table)
    run_allennlp(["train", "training_configs/xnli_eapr.jsonnet", "-s", tmp_path / "eapr"], env)
    out = tmp_path / "alignment.json"
    pattern = str(Path(nli_files["en"]).parent / "dev-*.tsv")
    archive = tmp_path / "eapr" / "model.tar.gz"
    run(["benchmarks/alignment.py", "--encoder", tiny_encoders["tiny-bert"], "--parallel", pattern,
         "--archive", f"eapr={archive}", "--archive", f"twice={archive},{archive}",
         "--limit", "4", "--out", str(out)])
    report = json.loads(out.read_text())
    assert set(report["results"]) == {"before", "eapr", "twice"}
    once, twice = report["results"]["eapr"], report["results"]["twice"]
    de = once["per_language"]["de"]
    assert 0.0 <= de["retrieval_accuracy"] <= 1.0 and de["centroid_distance"] >= 0.0
    # Several archives under one name: mean ± std over them (the same archive twice: same mean, std 0).
    assert (once["runs"], twice["runs"]) == (1, 2)
    assert twice["mean_retrieval_accuracy"] == pytest.approx(once["mean_retrieval_accuracy"])
    assert twice["mean_centroid_distance"] == pytest.approx(once["mean_centroid_distance"])
    assert twice["std_retrieval_accuracy"] == 0.0 and twice["std_centroid_distance"] == pytest.approx(0.0, abs=1e-7)
    assert out.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
def test_vocab_corpus(nli_files, synonym_table, tmp_path):
    topics = write_topic_task(str(tmp_path / "sib"))
    out = tmp_path / "texts.txt"
    run(["benchmarks/vocab_corpus.py", str(out), str(tmp_path / "sib" / "*" / "test.tsv"), nli_files["de"],
         "--synonyms", synonym_table])
    lines = out.read_text(encoding="utf-8").splitlines()
    expected = []
    for path in sorted([*topics.values(), nli_files["de"]]):
        rows = Path(path).read_text(encoding="utf-8").splitlines()
        if rows[0].startswith("index_id\t"):
            expected += [row.split("\t")[2] for row in rows[1:]]
        else:
            expected += [cell for row in rows for cell in row.split("\t")[:2]]
    table = json.loads(Path(synonym_table).read_text(encoding="utf-8"))
    expected += sorted(set(table) | {word for words in table.values() for word in words})
    assert lines == expected
    assert "index_id" not in lines and "entailment" not in lines


def test_alignment_leaves_out_repeated_rows(tmp_path):
    sys.path.insert(0, str(REPO / "benchmarks"))
    from alignment import read_parallel

    rows = {"en": ["A cat .", "A cat .", "A dog .", "A bird ."], "de": ["Eine Katze .", "Eine Katze .", "Ein Hund .", "Ein Vogel ."]}
    for language, premises in rows.items():
        (tmp_path / f"test-{language}.tsv").write_text("".join(f"{p}\thyp {i}\n" for i, p in enumerate(premises)))
    parallel = read_parallel(str(tmp_path / "test-*.tsv"), limit=10)
    assert parallel == {"de": ["Eine Katze .", "Ein Hund .", "Ein Vogel ."], "en": ["A cat .", "A dog .", "A bird ."]}


def test_weight_sweep_delta_pairs_seeds():
    """Rows of the α/β table are compared with the paper's weights on the seeds both finished, never
    mean against mean: seed 3 alone would otherwise pass for an effect of the weights."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    from report import paired_delta

    paper = {"non_english_by_seed": {"1": 0.50, "2": 0.54, "3": 0.40}}
    assert paired_delta(paper, paper) == "-"
    assert paired_delta({"non_english_by_seed": {"1": 0.52, "2": 0.53}}, None) == "-"
    # seeds 1 and 2 in common: ((0.52 - 0.50) + (0.53 - 0.54)) / 2 = +0.005, i.e. +0.5 points
    assert paired_delta({"non_english_by_seed": {"1": 0.52, "2": 0.53}}, paper) == "+0.5 (seeds 1,2)"
    assert paired_delta({"non_english_by_seed": {"3": 0.37}}, paper) == "-3.0 (seeds 3)"
    assert paired_delta({"non_english_by_seed": {"4": 0.9}}, paper) == "no common seed"


def test_report_writes_the_demo_table_into_the_readme(tmp_path):
    table = "| method | en | it | avg (non-en) | avg (all) |\n|---|---|---|---|---|\n| eapr | 70.0 | 50.0 | **50.0** | **60.0** |\n"
    (tmp_path / "demo.json").write_text(json.dumps({
        "date": "2026-11-26", "machine": "x86_64, 2 CPUs", "wall_s": 540, "table": table,
        "settings": {"layers": "6", "epochs": "4", "seeds": ["7"]}, "majority_class": {"en": 0.25, "it": 0.3}}))
    readme = tmp_path / "README.md"
    readme.write_text("top\n<!-- demo:start -->\nold table\n<!-- demo:end -->\nbottom\n")
    run(["benchmarks/report.py", str(tmp_path), "--readme", str(readme)])
    text = readme.read_text()
    assert "old table" not in text and table in text and text.endswith("<!-- demo:end -->\nbottom\n")
    assert "9 min in all" in text and "en 25.0, it 30.0" in text


def test_accuracy_variants_are_checked():
    """`--variant NAME METHOD EAPR_VAR=VALUE`: a taken name, an unknown method, a malformed or
    harness-owned variable each stop the benchmark with a message naming the variant."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("accuracy_benchmark", REPO / "benchmarks" / "accuracy.py")
    accuracy = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(accuracy)
    parse_variants = accuracy.parse_variants

    def fails(*variant):
        with pytest.raises(SystemExit) as stop:
            parse_variants(SimpleNamespace(methods=["baseline"], variant=[list(variant)]))
        return str(stop.value)

    assert "the name is taken" in fails("baseline", "eapr")
    assert "unknown method 'eaprr'" in fails("mine", "eaprr")
    assert "'PERTURBER=synonym' is not EAPR_VARIABLE=VALUE" in fails("mine", "eapr", "PERTURBER=synonym")
    assert "EAPR_SEED is set by the harness" in fails("mine", "eapr", "EAPR_SEED=3")
    assert "needs NAME METHOD" in fails("mine")
    variants = parse_variants(SimpleNamespace(methods=["baseline"], variant=[
        ["balanced", "eapr", "EAPR_BALANCE=embedding_push=0.1,attention_pull=0.1"]]))
    assert variants == {"baseline": {"method": "baseline", "env": {}},
                        "balanced": {"method": "eapr", "env": {"EAPR_BALANCE": "embedding_push=0.1,attention_pull=0.1"}}}
