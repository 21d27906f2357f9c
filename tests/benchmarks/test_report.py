"""`benchmarks/report.py` on result files written here (the tables' format, no training)."""
import contextlib
import io
import json

from tests.support.cli import REPO, load_script


def test_cross_lingual_tables(tmp_path):
    # What `evaluate-languages --cross-lingual` writes (cross_lingual.json), for two archives.
    def write(name, correct):
        languages = sorted({pair.split("/")[0] for pair in correct}, reverse=True)
        accuracy = {a: {b: correct[f"{a}/{b}"].count("1") / 10 for b in languages} for a in languages}
        same = [accuracy[l][l] for l in languages]
        mixed = [accuracy[a][b] for a in languages for b in languages if a != b]
        (tmp_path / name).write_text(json.dumps({
            "archive": f"runs/{name}/model.tar.gz", "languages": languages, "accuracy": accuracy,
            "pairs": {pair: {"accuracy": accuracy[pair[:2]][pair[3:]], "correct": c} for pair, c in correct.items()},
            "summary": {"same_language_mean": sum(same) / len(same), "mixed_language_mean": sum(mixed) / len(mixed)}}))

    # baseline: 7/10, 6/10 | 6/10, 5/10; EAPR: 6/10, 5/10 | 4/10, 5/10, every mixed pair's wrong
    # answers a superset of the baseline's (so every bootstrap draw is a loss or a tie)
    write("cross_lingual_xnli_baseline_seed1.json", {"en/en": "1111111000", "en/de": "1111110000",
                                                     "de/en": "1111110000", "de/de": "1111100000"})
    write("cross_lingual_xnli_eapr_seed1.json", {"en/en": "1111110000", "en/de": "1111100000",
                                                 "de/en": "1111000000", "de/de": "1111100000"})
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        load_script("benchmarks/report.py").tables(tmp_path)
    text = out.getvalue()
    rows = [line for line in text.splitlines() if line.startswith("| `cross_lingual_")]
    # baseline first (files sorted); same-language mean, mixed-language mean, their difference
    assert rows[0] == ("| `cross_lingual_xnli_baseline_seed1.json` | `runs/cross_lingual_xnli_baseline_seed1.json/model.tar.gz` "
                       "| en, de | 60.0 | 60.0 | (the reference) |")
    cells = [cell.strip() for cell in rows[1].strip("|").split(" | ")]
    assert cells[2:5] == ["en, de", "55.0", "45.0"]
    versus = cells[5]
    # mixed pairs en/de (-1 of 10) and de/en (-2 of 10): -15 points; every draw <= 0
    assert versus.startswith("-15.00 [") and versus.endswith("(20 examples; not distinguishable)")
    assert "| premise \\ hypothesis | en | de |" in text and "| de | 40.0 | 50.0 |" in text
    # archives that cannot be paired with the first file say why instead of leaving the cell empty
    write("cross_lingual_xnli_fr_seed1.json", {"fr/fr": "1111111000", "fr/de": "1111110000",
                                               "de/fr": "1111110000", "de/de": "1111100000"})
    write("cross_lingual_xnli_short_seed1.json", {"en/en": "11111110", "en/de": "11111100",
                                                  "de/en": "11111100", "de/de": "11111000"})
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        load_script("benchmarks/report.py").tables(tmp_path)
    rows = {line.split(" | ")[0]: line for line in out.getvalue().splitlines() if line.startswith("| `cross_lingual_")}
    assert rows["| `cross_lingual_xnli_fr_seed1.json`"].endswith("| not paired: the first file has no fr/de, de/fr |")
    assert rows["| `cross_lingual_xnli_short_seed1.json`"].endswith(
        "| not paired: the files hold different rows (row counts this/first: [(8, 10)]) |")


def test_oracle_reports_are_labelled_and_compared_on_the_same_languages(tmp_path):
    """An `accuracy.py --oracle` report (its own, retrained runs): the caption says so and names the
    languages scored each epoch, and the oracle line sets target-dev selection beside English-dev
    selection on the same languages with their paired difference."""
    cell = lambda mean: {"mean": mean, "std": 0.01, "n": 2}  # noqa: E731
    summary = {"per_language": {"eng_Latn": cell(0.9), "deu_Latn": cell(0.8), "yor_Latn": cell(0.5)},
               "average_non_english": cell(0.65), "seeds": [1, 2], "optimizer_steps": [264], "epochs": 6,
               "oracle_average_non_english": cell(0.67),
               "oracle": {"languages": ["deu_Latn", "yor_Latn"], "english_dev_same_languages": cell(0.65),
                          "minus_english_dev": {"mean": 0.02, "ci_low": 0.01, "ci_high": 0.03, "n": 2,
                                                "verdict": "gain"}}}
    settings = {"budget": "equal-steps", "encoder": "enc", "epochs": 2, "lr": 1e-4, "batch_size": 16,
                "max_length": 64, "head": "mean_pool", "oracle": True, "oracle_languages": ["deu_Latn", "yor_Latn"]}
    (tmp_path / "accuracy_sib200_oracle.json").write_text(json.dumps(
        {"protocol": "sib200", "date": "2026-11-27", "machine": "x86_64, 16 CPUs, GPU NVIDIA H100 80GB HBM3",
         "settings": settings, "summary": {"baseline": summary}}))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        load_script("benchmarks/report.py").tables(tmp_path)
    text = out.getvalue()
    assert "(2026-11-27; x86_64, 16 CPUs, GPU NVIDIA H100 80GB HBM3; encoder `enc`" in text  # where the runs ran
    assert "**equal optimizer steps** (runs trained again with every epoch scored on target-language dev and " \
           "test sets for target-language selection, `--oracle` on deu_Latn, yor_Latn)" in text
    assert ("baseline 67.0 ± 1.0 against English-dev selection's 65.0 ± 1.0 on the same 2 languages, "
            "+2.00 [+1.00, +3.00] (2 seeds; gain)") in text
    # the README shows the equal-steps comparisons; the oracle reruns and equal-epoch tables stay in the docs
    reports = {"oracle": {"settings": settings}, "main": {"settings": {**settings, "oracle": False}},
               "epochs": {"settings": {**settings, "oracle": False, "budget": "equal-epochs"}}}
    assert list(load_script("benchmarks/report.py").readme_accuracy_reports(reports)) == ["main"]


def test_an_accuracy_caption_claims_equal_steps_only_where_the_runs_made_them(capsys):
    report_py = load_script("benchmarks/report.py")
    path = REPO / "benchmarks" / "results" / "accuracy_xnli_six_epochs_cpu.json"
    report = json.loads(path.read_text())
    report_py.accuracy(path, report)
    assert "**equal optimizer steps**" in capsys.readouterr().out
    report["summary"]["eapr"]["optimizer_steps"] = [467]  # one method's runs made another number
    report_py.accuracy(path, report)
    caption = capsys.readouterr().out
    assert "**equal optimizer steps**" not in caption
    assert "runs made different numbers of optimizer steps** (baseline 468; two_stream_ce 468; eapr 467)" in caption
