"""Per-language tables: averages against a hand computation, formatting, chart file."""
import pytest

from eapr_plugin.common.reporting import bar_chart, markdown_table, mean_std, percent, summarize


def test_summarize_excludes_only_english_from_the_non_english_average():
    accuracies = {"en": 0.9, "de": 0.6, "sw": 0.3, "eng_Latn": 0.8}
    summary = summarize(accuracies)
    assert summary["average_non_english"] == pytest.approx((0.6 + 0.3) / 2)
    assert summary["average_all"] == pytest.approx((0.9 + 0.6 + 0.3 + 0.8) / 4)
    assert summary["english"] == 0.9 and summary["num_languages"] == 4
    assert summarize({"en": 0.5})["average_non_english"] is None


def test_mean_std_and_percent():
    stat = mean_std([0.5, 0.7])
    assert stat["mean"] == pytest.approx(0.6) and stat["std"] == pytest.approx(0.1414213, rel=1e-5)
    assert percent(stat) == "60.0 ± 14.1"
    assert percent(mean_std([0.5])) == "50.0"  # one seed: no "± 0.0"
    assert percent(0.12345) == "12.3" and percent(None) == "-"


def test_markdown_table_puts_english_first_and_computes_averages():
    table = markdown_table({"a": {"de": 0.5, "en": 1.0, "fr": 0.7}, "b": {"de": 0.4, "en": 0.9}})
    header, rule, a, b = table.splitlines()
    assert header == "| model | en | de | fr | avg (non-en) | avg (all) |"
    assert a == "| a | 100.0 | 50.0 | 70.0 | **60.0** | **73.3** |"
    assert b == "| b | 90.0 | 40.0 | - | **40.0** | **65.0** |"


def test_seed_rows_need_their_own_averages(tmp_path):
    rows = {"m": {"en": mean_std([0.8, 0.9]), "de": mean_std([0.5, 0.7])}}
    averages = {"avg non-en": {"m": mean_std([0.5, 0.7])}}
    assert "**60.0 ± 14.1**" in markdown_table(rows, averages, first_column="method")
    with pytest.raises(ValueError, match="averages"):
        bar_chart(rows, str(tmp_path / "x.png"), "t")
    bar_chart(rows, str(tmp_path / "x.png"), "t", reference={"en": 0.3, "de": 0.4}, averages=averages["avg non-en"])
    assert (tmp_path / "x.png").read_bytes()[:4] == b"\x89PNG"
