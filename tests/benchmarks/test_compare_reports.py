"""`benchmarks/compare_reports.py`: paired differences across two accuracy reports, checked against
a paired t interval computed here; the refusals (other protocol, other step count, a shared method
whose runs differ) name what differs."""
import json
import math
import statistics
from unittest.mock import patch

import pytest

from tests.support.cli import load_script, run_script

T_975_4 = 2.7764451051977987  # Student t, 97.5th percentile, 4 degrees of freedom (tables)
T_975_6 = 2.4469118511449692  # Student t, 97.5th percentile, 6 degrees of freedom (tables)
T_975_2 = 4.302652729911275  # Student t, 97.5th percentile, 2 degrees of freedom (tables)


def report(path, protocol, settings, summary, runs):
    path.write_text(json.dumps({"protocol": protocol, "settings": settings, "summary": summary, "runs": runs}))
    return path


def summary_of(by_seed, steps=234):
    return {"non_english_by_seed": by_seed, "optimizer_steps": [steps]}


def test_compare_reports(tmp_path):
    plain_runs = {str(s): {"en": 0.5 + s / 100, "de": 0.4 + s / 200} for s in range(1, 6)}
    plain = {str(s): 0.4 + s / 200 for s in range(1, 6)}
    one_copy = {str(s): v for s, v in zip(plain, (0.43, 0.405, 0.42, 0.435, 0.41))}
    three_copies = {str(s): v for s, v in zip(plain, (0.42, 0.42, 0.40, 0.43, 0.40))}
    a = report(tmp_path / "a.json", "xnli", {"epochs": 3, "num_perturbations": 1, "lr": 1e-4, "out": "a"},
               {"baseline": summary_of(plain), "tsce": summary_of(one_copy)}, {"baseline": plain_runs})
    b = report(tmp_path / "b.json", "xnli", {"epochs": 1, "num_perturbations": 3, "lr": 1e-4, "out": "b"},
               {"baseline": summary_of(plain), "tsce": summary_of(three_copies)}, {"baseline": plain_runs})
    out = tmp_path / "out.json"
    printed = run_script("benchmarks/compare_reports.py", ["--check-shared", "baseline", f"{a}:tsce", f"{b}:tsce",
                                                           "--out", out]).stdout
    assert "baseline: identical in both reports on seeds 1, 2, 3, 4, 5" in printed
    differences = [one_copy[s] - three_copies[s] for s in plain]
    mean, std = statistics.mean(differences), statistics.stdev(differences)
    half = T_975_4 * std / math.sqrt(5)
    result = json.loads(out.read_text())["comparisons"][0]
    assert result["average_non_english"]["mean"] == pytest.approx(mean)
    assert result["average_non_english"]["ci_low"] == pytest.approx(mean - half)
    assert result["average_non_english"]["ci_high"] == pytest.approx(mean + half)
    assert result["settings_differ"] == ["epochs 3 vs 1", "num_perturbations 1 vs 3"]  # not `out`
    assert f"{100 * mean:+.2f} [{100 * (mean - half):+.2f}, {100 * (mean + half):+.2f}] (5 seeds;" in printed

    # the refusals, in process (the script's functions)
    compare_reports = load_script("benchmarks/compare_reports.py")

    def refused(*args):
        with pytest.raises(SystemExit) as stop:
            with patch("sys.argv", ["compare_reports.py", *map(str, args)]):
                compare_reports.main()
        return str(stop.value)

    other = report(tmp_path / "c.json", "sib200", {}, {"tsce": summary_of(one_copy)}, {})
    assert "protocols differ (xnli vs sib200)" in refused(f"{a}:tsce", f"{other}:tsce")
    longer = report(tmp_path / "d.json", "xnli", {}, {"tsce": summary_of(one_copy, steps=468)}, {})
    assert "optimizer steps differ ([234] vs [468]): not an equal-cost comparison" in refused(f"{a}:tsce", f"{longer}:tsce")
    assert f"{a} has no 'eapr'" in refused(f"{a}:eapr", f"{b}:tsce")
    assert "pairs MINE THEIRS need an even number" in refused(f"{a}:tsce")
    elsewhere = report(tmp_path / "f.json", "xnli", {}, {"tsce": summary_of({"7": 0.4, "8": 0.41})}, {})
    assert "no seed in both, nothing to pair" in refused(f"{a}:tsce", f"{elsewhere}:tsce")
    shifted = report(tmp_path / "e.json", "xnli", {}, {"tsce": summary_of(one_copy)},
                     {"baseline": {**plain_runs, "3": {"en": 0.0, "de": 0.0}}})
    assert "seeds 3 differ" in refused(f"{a}:tsce", f"{shifted}:tsce", "--check-shared", "baseline")


def test_pool_averages_the_pairs_differences_per_seed(tmp_path):
    seeds = [str(s) for s in range(1, 6)]
    gpu_ref = dict(zip(seeds, (0.560, 0.552, 0.548, 0.571, 0.557)))
    gpu_new = dict(zip(seeds, (0.557, 0.567, 0.566, 0.576, 0.565)))
    cpu_ref = dict(zip(seeds, (0.5716, 0.5655, 0.561, 0.563, 0.559)))
    cpu_new = dict(zip(seeds, (0.5725, 0.5828, 0.570, 0.566, 0.571)))
    gpu = report(tmp_path / "gpu.json", "xnli", {"device": "gpu"},
                 {"tsce": summary_of(gpu_ref, 468), "frozen": summary_of(gpu_new, 468)}, {})
    cpu = report(tmp_path / "cpu.json", "xnli", {"device": "cpu"},
                 {"tsce": summary_of(cpu_ref, 468), "frozen": summary_of(cpu_new, 468)}, {})
    out = tmp_path / "out.json"
    printed = run_script("benchmarks/compare_reports.py", [f"{gpu}:frozen", f"{gpu}:tsce", f"{cpu}:frozen",
                                                           f"{cpu}:tsce", "--pool", "--out", out]).stdout
    # the seed is the unit: each seed's mean of the two devices' differences, 4 degrees of freedom
    differences = [((gpu_new[s] - gpu_ref[s]) + (cpu_new[s] - cpu_ref[s])) / 2 for s in seeds]
    mean, std = statistics.mean(differences), statistics.stdev(differences)
    half = T_975_4 * std / math.sqrt(5)
    pooled = json.loads(out.read_text())["pooled"]
    assert pooled["average_non_english"]["n"] == 5
    assert pooled["average_non_english"]["mean"] == pytest.approx(mean)
    assert pooled["average_non_english"]["ci_low"] == pytest.approx(mean - half)
    assert pooled["average_non_english"]["ci_high"] == pytest.approx(mean + half)
    assert pooled["optimizer_steps"] == [468]
    assert (f"pooled, 2 pairs ([468] steps): {100 * mean:+.2f} [{100 * (mean - half):+.2f}, "
            f"{100 * (mean + half):+.2f}] (5 seeds;") in printed

    compare_reports = load_script("benchmarks/compare_reports.py")

    # seeds only one pair ran (the CPU's 6-7 here) enter with that pair's difference alone: 7 seeds, 6 df
    cpu_ref7 = {**cpu_ref, "6": 0.575, "7": 0.568}
    cpu_new7 = {**cpu_new, "6": 0.579, "7": 0.570}
    cpu7 = report(tmp_path / "cpu7.json", "xnli", {"device": "cpu"},
                  {"tsce": summary_of(cpu_ref7, 468), "frozen": summary_of(cpu_new7, 468)}, {})
    with patch("sys.argv", ["compare_reports.py", "--pool", "--out", str(out), f"{gpu}:frozen", f"{gpu}:tsce",
                            f"{cpu7}:frozen", f"{cpu7}:tsce"]):
        compare_reports.main()
    differences += [cpu_new7[s] - cpu_ref7[s] for s in ("6", "7")]
    mean, half = statistics.mean(differences), T_975_6 * statistics.stdev(differences) / math.sqrt(7)
    pooled = json.loads(out.read_text())["pooled"]["average_non_english"]
    assert pooled["n"] == 7
    assert pooled["mean"] == pytest.approx(mean)
    assert (pooled["ci_low"], pooled["ci_high"]) == (pytest.approx(mean - half), pytest.approx(mean + half))

    def refused(*args):
        with pytest.raises(SystemExit) as stop:
            with patch("sys.argv", ["compare_reports.py", "--pool", *map(str, args)]):
                compare_reports.main()
        return str(stop.value)

    # the same reference runs in two pooled pairs (a shared method of one device's two reports)
    again = report(tmp_path / "again.json", "xnli", {}, {"tsce": summary_of(gpu_ref, 468),
                                                         "frozen3": summary_of(cpu_new, 468)}, {})
    message = refused(f"{gpu}:frozen", f"{gpu}:tsce", f"{again}:frozen3", f"{again}:tsce")
    assert f"{again}:tsce and {gpu}:tsce hold the same runs" in message
    assert "needs at least two pairs" in refused(f"{gpu}:frozen", f"{gpu}:tsce")
    longer = report(tmp_path / "longer.json", "xnli", {}, {"tsce": summary_of(cpu_ref, 936),
                                                           "frozen": summary_of(cpu_new, 936)}, {})
    assert "different optimizer steps ([468], [936])" in refused(f"{gpu}:frozen", f"{gpu}:tsce",
                                                                 f"{longer}:frozen", f"{longer}:tsce")


def test_contrast_subtracts_one_pairs_differences_from_the_others_by_seed(tmp_path):
    """--contrast: (A − B at one budget) − (A − B at another), by seed, over the seeds both have,
    checked against a t interval computed here; the pairs may differ in steps, their own sides may not."""
    seeds = [str(s) for s in range(1, 6)]
    short_ref = dict(zip(seeds, (0.560, 0.552, 0.548, 0.571, 0.557)))
    short_new = dict(zip(seeds, (0.567, 0.559, 0.566, 0.576, 0.565)))
    long_ref = dict(zip(seeds[:3], (0.571, 0.566, 0.561)))  # the longer budget: seeds 1-3 only
    long_new = dict(zip(seeds[:3], (0.590, 0.571, 0.580)))
    short = report(tmp_path / "short.json", "xnli", {"epochs": 6},
                   {"tsce": summary_of(short_ref, 468), "frozen": summary_of(short_new, 468)}, {})
    longer = report(tmp_path / "long.json", "xnli", {"epochs": 12},
                    {"tsce": summary_of(long_ref, 936), "frozen": summary_of(long_new, 936)}, {})
    out = tmp_path / "out.json"
    printed = run_script("benchmarks/compare_reports.py", [f"{longer}:frozen", f"{longer}:tsce", f"{short}:frozen",
                                                           f"{short}:tsce", "--contrast", "--out", out]).stdout
    change = [(long_new[s] - long_ref[s]) - (short_new[s] - short_ref[s]) for s in seeds[:3]]
    mean, half = statistics.mean(change), T_975_2 * statistics.stdev(change) / math.sqrt(3)
    result = json.loads(out.read_text())["contrast"]
    assert result["optimizer_steps"] == [[936], [468]]
    assert result["average_non_english"]["seeds"] == ["1", "2", "3"]
    assert result["average_non_english"]["differences"] == pytest.approx(change)
    assert (result["average_non_english"]["ci_low"], result["average_non_english"]["ci_high"]) == \
           (pytest.approx(mean - half), pytest.approx(mean + half))
    assert (f"contrast, ({longer}:frozen - {longer}:tsce) - ({short}:frozen - {short}:tsce) ([936] vs [468] "
            f"steps): {100 * mean:+.2f} [{100 * (mean - half):+.2f}, {100 * (mean + half):+.2f}] (3 seeds;") in printed

    compare_reports = load_script("benchmarks/compare_reports.py")

    def refused(*args):
        with pytest.raises(SystemExit) as stop:
            with patch("sys.argv", ["compare_reports.py", "--contrast", *map(str, args)]):
                compare_reports.main()
        return str(stop.value)

    assert "needs exactly two pairs (1 given)" in refused(f"{longer}:frozen", f"{longer}:tsce")
    # within a pair the steps must still agree
    assert "optimizer steps differ ([936] vs [468])" in refused(f"{longer}:frozen", f"{short}:tsce",
                                                                 f"{short}:frozen", f"{short}:tsce")
    later = report(tmp_path / "later.json", "xnli", {}, {"tsce": summary_of({"9": 0.5}, 936),
                                                         "frozen": summary_of({"9": 0.6}, 936)}, {})
    assert "no seed in common" in refused(f"{later}:frozen", f"{later}:tsce", f"{short}:frozen", f"{short}:tsce")
