"""`compare-languages`: its statistics on hand-made reports, then the real command on tiny archives."""
import json

import pytest

from eapr_plugin.commands.compare_languages import budget_line, compare, markdown, parse_groups
from tests.support.cli import run_allennlp
from tests.support.tasks import tiny_ext_vars


def report(accuracies, correct=None, steps=None):
    return {"languages": {lang: {"accuracy": acc, **({"correct": correct[lang]} if correct else {})}
                          for lang, acc in accuracies.items()},
            "run": None if steps is None else {"finished": True, "optimizer_steps": steps}}


def test_runs_are_paired_by_position_on_the_non_english_average_and_per_language():
    eapr = [report({"en": 0.9, "de": 0.62, "sw": 0.50}), report({"en": 0.8, "de": 0.60, "sw": 0.46}),
            report({"en": 0.9, "de": 0.65, "sw": 0.52})]
    plain = [report({"en": 0.9, "de": 0.60, "sw": 0.48}), report({"en": 0.9, "de": 0.58, "sw": 0.442}),
             report({"en": 0.9, "de": 0.63, "sw": 0.498})]
    result = compare({"eapr": eapr, "plain": plain}, "plain")
    average = result["differences"]["eapr"]["avg (non-en)"]
    assert average["differences"] == pytest.approx([0.02, 0.019, 0.021])  # mean of de and sw, English left out
    assert result["differences"]["eapr"]["per_language"]["sw"]["differences"] == pytest.approx([0.02, 0.018, 0.022])
    assert average["verdict"] == "gain" and result["differences"]["eapr"]["pairs"] == 3
    assert result["summary"]["eapr"]["average_non_english"]["n"] == 3 and "plain" not in result["differences"]


def test_the_comparison_says_whether_the_groups_trained_the_same_optimizer_steps():
    scores = {"en": 0.9, "de": 0.6}
    equal = compare({"a": [report(scores, steps=264)] * 2, "b": [report(scores, steps=264)] * 2}, "b")
    assert equal["budget"] == {"optimizer_steps": {"a": [264, 264], "b": [264, 264]}, "equal_steps": True}
    assert markdown(equal).rstrip().endswith("Every run made the same number of optimizer steps (a: 264, 264; b: 264, 264).")
    unequal = compare({"a": [report(scores, steps=88)] * 2, "b": [report(scores, steps=264)] * 2}, "b")
    assert unequal["budget"]["equal_steps"] is False
    assert budget_line(unequal["budget"]).startswith("**NOT A COMPARISON AT EQUAL COST**") and "a: 88, 88" in markdown(unequal)
    unknown = compare({"a": [report(scores, steps=264), report(scores)], "b": [report(scores, steps=264)] * 2}, "b")
    assert unknown["budget"]["equal_steps"] is None and "(a: 264, ?; b: 264, 264)" in budget_line(unknown["budget"])


def test_single_runs_are_compared_by_a_bootstrap_over_examples():
    a = report({"en": 1.0, "de": 0.9}, {"en": "1" * 10, "de": "1" * 90 + "0" * 10})
    b = report({"en": 1.0, "de": 0.5}, {"en": "1" * 10, "de": "1" * 50 + "0" * 50})
    entry = compare({"a": [a], "b": [b]}, "b", samples=1000)["differences"]["a"]
    assert entry["method"] == "paired bootstrap over test examples"
    assert entry["per_language"]["de"]["mean"] == pytest.approx(0.4) and entry["per_language"]["de"]["verdict"] == "gain"
    assert entry["avg (non-en)"]["mean"] == pytest.approx(0.4)  # only `de` is non-English
    assert entry["per_language"]["en"]["verdict"] == "not distinguishable"


def test_parallel_languages_widen_the_single_run_interval_of_the_average():
    # de and fr are translations on which the two runs differ on the same rows: resampled jointly
    # (--parallel), the average's interval is that of one language; resampled apart, narrower.
    rows_a, rows_b = "1101101110" * 10, "1001100110" * 10
    a = report({"en": 0.7, "de": 0.7, "fr": 0.7}, {"en": rows_a, "de": rows_a, "fr": rows_a})
    b = report({"en": 0.5, "de": 0.5, "fr": 0.5}, {"en": rows_b, "de": rows_b, "fr": rows_b})
    joint = compare({"a": [a], "b": [b]}, "b", samples=4000, parallel=True)["differences"]["a"]
    apart = compare({"a": [a], "b": [b]}, "b", samples=4000)["differences"]["a"]
    width = {name: e["avg (non-en)"]["ci_high"] - e["avg (non-en)"]["ci_low"] for name, e in (("joint", joint), ("apart", apart))}
    assert width["joint"] > 1.25 * width["apart"] and joint["rows"].endswith("(parallel)")
    single_language = joint["per_language"]["de"]
    assert joint["avg (non-en)"]["ci_low"] == pytest.approx(single_language["ci_low"], abs=0.03)


def test_group_syntax():
    assert parse_groups(["a=x.tar.gz,y.tar.gz", "b=z.tar.gz"]) == {"a": ["x.tar.gz", "y.tar.gz"], "b": ["z.tar.gz"]}
    from allennlp.common.checks import ConfigurationError

    for bad in (["a=x"], ["a", "b=y"], ["a=x", "a=y"]):
        with pytest.raises(ConfigurationError):
            parse_groups(bad)


@pytest.mark.slow
def test_the_command_on_tiny_archives(tiny_encoders, nli_files, synonym_table, tmp_path):
    archives = []
    for seed in ("1", "2"):
        env = tiny_ext_vars(tiny_encoders["tiny-bert"], nli_files["en"], nli_files["en"], synonym_table, EAPR_SEED=seed)
        run_allennlp(["train", "training_configs/xnli_eapr.jsonnet", "-s", tmp_path / seed], env)
        archives.append(str(tmp_path / seed / "model.tar.gz"))
    run_allennlp(["compare-languages", nli_files["de"], nli_files["fr"], nli_files["en"], "--output-dir", tmp_path / "cmp",
                  "--group", f"x={archives[0]},{archives[1]}", "--group", f"y={archives[1]},{archives[0]}"])
    result = json.loads((tmp_path / "cmp" / "comparison.json").read_text())
    differences = result["differences"]["x"]["avg (non-en)"]["differences"]
    assert differences[0] == pytest.approx(-differences[1])  # the same two runs, swapped
    assert (tmp_path / "cmp" / "comparison.png").read_bytes()[:4] == b"\x89PNG"
    assert "Paired difference with `y`" in (tmp_path / "cmp" / "comparison.md").read_text()
    run_allennlp(["compare-languages", nli_files["de"], nli_files["en"], "--output-dir", tmp_path / "one",
                  "--group", f"x={archives[0]}", "--group", f"y={archives[1]}", "--bootstrap-samples", "200",
                  "--parallel"])
    single = json.loads((tmp_path / "one" / "comparison.json").read_text())["differences"]["x"]
    assert single["rows"] == "resampled jointly across languages (parallel)"
    assert single["method"] == "paired bootstrap over test examples" and single["per_language"]["de"]["samples"] == 200


def test_every_archive_is_checked_before_any_is_scored(tmp_path):
    # the second group's archive is an interrupted run's (its config lists run_status.json, the
    # archive lacks it); the first group's archive and the data do not exist, so scoring anything
    # first would fail with another message
    from allennlp.common.checks import ConfigurationError

    from eapr_plugin.commands.compare_languages import compare_languages
    from tests.support.archives import write_archive

    interrupted = write_archive(tmp_path / "b_seed1" / "model.tar.gz",
                                {"include_in_archive": ["encoder", "run_status.json", "run_record.jsonl"]}, {})
    with pytest.raises(ConfigurationError, match=r"b_seed1/model.tar.gz holds an unfinished run.*--allow-unfinished"):
        compare_languages([str(tmp_path / "missing.tsv")],
                          {"a": [str(tmp_path / "a_seed1" / "model.tar.gz")], "b": [interrupted]},
                          str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()
