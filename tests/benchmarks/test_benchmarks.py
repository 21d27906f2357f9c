"""Smoke tests: every benchmark script runs end to end on a tiny encoder with a tiny budget."""
import json
import sys
from pathlib import Path

import pytest
import torch

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
    # the default device is the GPU where there is one; the JSON names it and the stack's versions
    assert report["machine"].endswith("no GPU used") != torch.cuda.is_available()
    assert report["versions"]["transformers"] == "4.43.4"
    for result in report["results"]:
        median = result["median_step_s"]
        assert set(median) == {"reference", "eapr_exact", "eapr_masked", "plain_padded", "plain_dynamic",
                               "plain_two_streams"}
        assert result["exact_speedup_over_reference"] == pytest.approx(median["reference"] / median["eapr_exact"])
        assert result["eapr_masked_over_plain_step_time"] == pytest.approx(median["eapr_masked"] / median["plain_dynamic"])
        assert result["two_streams_over_plain_step_time"] == pytest.approx(
            median["plain_two_streams"] / median["plain_dynamic"])
        assert result["eapr_masked_over_two_streams_step_time"] == pytest.approx(
            median["eapr_masked"] / median["plain_two_streams"])
    # CPU peak memory of one variant, measured in its own process (what --memory does per variant)
    one = run(["benchmarks/speed.py", "--one", "reference", "--encoders", tiny_encoders["tiny-bert"],
               "--batch-sizes", "4"] + common).stdout
    assert json.loads(one.strip().splitlines()[-1])["peak_mb"] > 0
    table = run(["benchmarks/report.py", str(tmp_path)]).stdout
    assert table.count("| 6 layers | 4 |") == 2 and "masked ÷ two streams" in table


@pytest.mark.slow
def test_term_influence_benchmark(tiny_encoders, synonym_table, nli_files, tmp_path):
    out = tmp_path / "influence.json"
    run(["benchmarks/term_influence.py", "--encoder", tiny_encoders["tiny-bert"], "--task", "xnli",
         "--train", nli_files["en"], "--synonyms", synonym_table, "--max-length", "32", "--batch-size", "4",
         "--batches", "2", "--steps", "3", "--out", str(out)])
    report = json.loads(out.read_text())
    assert report["machine"].endswith("no GPU used") and report["versions"]["allennlp"] == "2.10.1"
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
def test_alignment_and_perturbation_shift_benchmarks(tiny_encoders, nli_files, synonym_table, tmp_path):
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
    # the same archive: its English dev rows, then their synonym copies (the paper's, and shared swaps)
    out = tmp_path / "perturbation_shift.json"
    run(["benchmarks/perturbation_shift.py", "--synonyms", synonym_table, "--archive", f"eapr={archive}",
         "--out", str(out)])
    shift = json.loads(out.read_text())["results"]["eapr"]["runs"][str(archive)]
    best = json.loads((tmp_path / "eapr" / "metrics.json").read_text())["best_validation_accuracy"]
    assert shift["accuracy_original"] == pytest.approx(best)  # what training measured on those rows
    assert shift["rows"] == len(open(nli_files["en"], encoding="utf-8").read().splitlines())
    for kind in ("paper", "shared"):
        assert 0 < shift[f"changed_{kind}"] <= 1
        assert abs(shift[f"accuracy_{kind}"] - shift["accuracy_original"]) <= shift[f"flipped_{kind}"] + 1e-9
    # a table that changes no row leaves nothing to measure: an error naming it, not copies equal to the rows
    unused = tmp_path / "unused_synonyms.json"
    unused.write_text(json.dumps({"zzzunusedword": ["zzzother"]}))
    failed = run_script("benchmarks/perturbation_shift.py", ["--synonyms", unused, "--archive", f"eapr={archive}",
                                                              "--out", tmp_path / "none.json"], check=False)
    assert failed.returncode != 0 and "none of the" in failed.stderr and str(unused) in failed.stderr
    assert not (tmp_path / "none.json").exists()
    table = run(["benchmarks/report.py", str(tmp_path)]).stdout
    row = f"| eapr | 1 | {100 * shift['accuracy_original']:.1f} ± 0.0 | {100 * shift['accuracy_paper']:.1f} ± 0.0 |"
    assert "Perturbation shift, `perturbation_shift.json`" in table and row in table


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


def test_two_streams_floor_batch_holds_both_streams(tiny_encoders, nli_files, synonym_table):
    """The speed benchmark's floor (`plain_two_streams`): plain fine-tuning's model on one batch whose
    rows are the EAPR batch's original pairs, then their perturbed copies, padded to the streams'
    common length; each copy keeps its pair's label."""
    from argparse import Namespace

    from tests.support.cli import load_script

    speed = load_script("benchmarks/speed.py")
    args = Namespace(synonyms=synonym_table, max_length=32, layer=1, head=None, data=nli_files["en"])
    model, tensors = speed.two_streams_batch(args, tiny_encoders["tiny-bert"], 4)
    assert len(model._loss_terms) == 0  # plain fine-tuning: the task CE only
    _, pair, _ = speed.recipe_model(args, tiny_encoders["tiny-bert"], 4, "eapr", "masked")
    _, plain, _ = speed.recipe_model(args, tiny_encoders["tiny-bert"], 4, "baseline")
    ids = tensors["tokens"]["tokens"]["token_ids"]
    original, perturbed = (pair[k]["tokens"]["token_ids"] for k in ("tokens", "perturbed_tokens"))
    length = max(original.size(1), perturbed.size(1))
    assert ids.shape == (8, length)
    assert torch.equal(ids[:4, :original.size(1)], original) and torch.equal(ids[4:, :perturbed.size(1)], perturbed)
    assert not torch.equal(ids[:4], ids[4:])  # the copies differ from the pairs
    assert torch.equal(tensors["label"], plain["label"].repeat(2))
    masks = [pair[k]["tokens"]["mask"].long().sum(1) for k in ("tokens", "perturbed_tokens")]
    assert torch.equal(tensors["tokens"]["tokens"]["mask"].long().sum(1), torch.cat(masks))  # padding is masked
    assert model(**tensors)["loss"].ndim == 0
