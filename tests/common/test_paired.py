"""Paired statistics against hand computations (the t interval written out, the bootstrap's limits)."""
import math

import pytest

from eapr_plugin.common.paired import (bootstrap_tally, describe, paired_bootstrap, paired_bootstrap_languages, paired_seeds,
                                        seed_order, verdict)


def test_paired_seeds_against_a_hand_computed_t_interval():
    a = {"1": 0.76, "2": 0.74, "3": 0.77, "4": 0.75, "5": 0.78, "9": 0.5}
    b = {"1": 0.75, "2": 0.745, "3": 0.76, "4": 0.74, "5": 0.765}
    result = paired_seeds(a, b)
    differences = [0.01, -0.005, 0.01, 0.01, 0.015]
    mean = sum(differences) / 5
    std = math.sqrt(sum((d - mean) ** 2 for d in differences) / 4)
    half = 2.7764451051977987 * std / math.sqrt(5)  # t(0.975, 4)
    assert result["seeds"] == ["1", "2", "3", "4", "5"] and result["n"] == 5
    assert result["mean"] == pytest.approx(mean) and result["std"] == pytest.approx(std)
    assert (result["ci_low"], result["ci_high"]) == (pytest.approx(mean - half), pytest.approx(mean + half))
    assert mean - half < 0 < mean + half and result["verdict"] == "not distinguishable"  # +0.8 ± 0.94 points
    assert paired_seeds({"1": 0.5}, {"2": 0.5})["verdict"] == "no common seed"
    single = paired_seeds({"1": 0.6}, {"1": 0.5})
    assert single["mean"] == pytest.approx(0.1) and single["ci_low"] is None and single["verdict"] == "n/a"


def test_seeds_are_listed_in_numeric_order():
    """Reports key seeds as strings; "10" sorts after "9", not after "1", so that a per-seed list
    reads in the order the seeds were run and `differences[i]` lines up with seed i+1."""
    a = {str(seed): 0.5 + seed / 100 for seed in range(1, 12)}
    b = {str(seed): 0.5 for seed in range(1, 12)}
    result = paired_seeds(a, b)
    assert result["seeds"] == [str(seed) for seed in range(1, 12)]
    assert result["differences"] == pytest.approx([seed / 100 for seed in range(1, 12)])
    assert sorted(["10", "2", "x", "1"], key=seed_order) == ["1", "2", "10", "x"]
    gain, same = {"average_non_english": {"verdict": "gain"}}, {"average_non_english": {"verdict": "n/a"}}
    assert bootstrap_tally({"10": gain, "9": same, "2": gain}) == \
        "per seed over test examples: gain on seeds 2, 10; 1 not distinguishable"


def test_verdict_needs_the_interval_to_exclude_zero():
    assert verdict(0.001, 0.02) == "gain" and verdict(-0.02, -0.001) == "loss"
    assert verdict(-0.01, 0.02) == "not distinguishable" and verdict(0.0, 0.02) == "not distinguishable"


def test_paired_bootstrap_brackets_the_difference_and_detects_a_clear_gain():
    better = [1] * 90 + [0] * 10
    worse = [1] * 60 + [0] * 40
    result = paired_bootstrap(better, worse, samples=2000)
    assert result["mean"] == pytest.approx(0.30)
    assert result["ci_low"] < 0.30 < result["ci_high"] and result["verdict"] == "gain"
    same = paired_bootstrap(better, better, samples=500)
    assert same["ci_low"] == same["ci_high"] == 0.0 and same["verdict"] == "not distinguishable"
    with pytest.raises(ValueError, match="same non-empty examples"):
        paired_bootstrap([1, 0], [1])
    assert describe(result).startswith("+30.00 [") and "100 examples; gain" in describe(result)


def test_paired_bootstrap_languages_averages_the_target_languages_draw_by_draw():
    # de: a always right, b always wrong (every draw +1); fr: the same answers (every draw 0);
    # en: the reverse of de (every draw -1), left out of the macro average.
    a = {"en": "0000", "de": "111111", "fr": "10101"}
    b = {"en": "1111", "de": "000000", "fr": "10101"}
    result = paired_bootstrap_languages(a, b, samples=300, seed=3)
    per = result["per_language"]
    assert (per["en"]["mean"], per["de"]["mean"], per["fr"]["mean"]) == (-1.0, 1.0, 0.0)
    assert per["de"]["ci_low"] == per["de"]["ci_high"] == 1.0 and per["de"]["verdict"] == "gain"
    assert per["en"]["verdict"] == "loss" and per["fr"]["verdict"] == "not distinguishable"
    macro = result["average_non_english"]
    assert macro["mean"] == macro["ci_low"] == macro["ci_high"] == 0.5 and macro["n_examples"] == 11
    # A language's own interval is the single-language bootstrap drawn from the same stream.
    noisy_a, noisy_b = {"de": "1101101110", "fr": "1"}, {"de": "0101100110", "fr": "1"}
    first = paired_bootstrap_languages(noisy_a, noisy_b, samples=400, seed=5)["per_language"]["de"]
    assert first == paired_bootstrap([int(c) for c in noisy_a["de"]], [int(c) for c in noisy_b["de"]], 400, seed=5)
    with pytest.raises(ValueError, match="no non-English language"):
        paired_bootstrap_languages({"en": "1"}, {"en": "0"})


def test_bootstrap_tally_names_the_seeds_of_each_verdict():
    def seed(verdict_):
        return {"average_non_english": {"verdict": verdict_}}

    by_seed = {"1": seed("gain"), "2": seed("not distinguishable"), "3": seed("gain"), "4": seed("loss")}
    assert bootstrap_tally(by_seed) == ("per seed over test examples: gain on seeds 1, 3; loss on seed 4; "
                                        "1 not distinguishable")


def test_paired_bootstrap_draws_the_distribution_of_resampling_examples():
    # The independent computation: resample example indices with replacement, the same draw for
    # both systems, and take the accuracy difference. Counting kinds must give that distribution.
    import numpy

    rng = numpy.random.default_rng(11)
    a = rng.integers(0, 2, size=300)
    b = numpy.where(rng.random(300) < 0.8, a, 1 - a)  # 20% of the examples disagree
    draws = numpy.random.default_rng(12).integers(0, 300, size=(20000, 300))
    by_index = a[draws].mean(axis=1) - b[draws].mean(axis=1)
    result = paired_bootstrap(a.tolist(), b.tolist(), samples=20000, seed=13)
    assert result["mean"] == pytest.approx(a.mean() - b.mean())
    low, high = numpy.percentile(by_index, [2.5, 97.5])
    assert result["ci_low"] == pytest.approx(low, abs=0.004) and result["ci_high"] == pytest.approx(high, abs=0.004)
    assert result["samples"] == 20000 and result["n_examples"] == 300


def test_parallel_languages_are_resampled_row_by_row_together():
    # Four "translations" of one 200-row test set on which the two systems differ on the same rows
    # in every language: resampling rows jointly (the independent computation: one index draw for
    # all languages) must give that interval, and it is about twice as wide as resampling each
    # language on its own, which treats the languages' shared rows as independent evidence.
    import numpy

    rng = numpy.random.default_rng(21)
    a = rng.integers(0, 2, size=200)
    b = numpy.where(rng.random(200) < 0.75, a, 1 - a)
    languages = ["en", "de", "fr", "sw", "zh"]
    correct_a = {l: "".join(map(str, a)) for l in languages}
    correct_b = {l: "".join(map(str, b)) for l in languages}
    joint = paired_bootstrap_languages(correct_a, correct_b, samples=20000, seed=1, parallel=True)["average_non_english"]
    apart = paired_bootstrap_languages(correct_a, correct_b, samples=20000, seed=1)["average_non_english"]
    draws = numpy.random.default_rng(2).integers(0, 200, size=(20000, 200))
    by_index = numpy.mean([a[draws].mean(axis=1) - b[draws].mean(axis=1) for _ in languages[1:]], axis=0)
    low, high = numpy.percentile(by_index, [2.5, 97.5])
    assert joint["mean"] == apart["mean"] == pytest.approx(a.mean() - b.mean())
    assert joint["ci_low"] == pytest.approx(low, abs=0.006) and joint["ci_high"] == pytest.approx(high, abs=0.006)
    assert joint["n_examples"] == 800
    assert (joint["ci_high"] - joint["ci_low"]) > 1.7 * (apart["ci_high"] - apart["ci_low"])
    # per language, nothing changes: each language's own bootstrap
    assert (paired_bootstrap_languages(correct_a, correct_b, 500, seed=4, parallel=True)["per_language"]
            == paired_bootstrap_languages(correct_a, correct_b, 500, seed=4)["per_language"])
    with pytest.raises(ValueError, match="same non-empty rows in every group"):
        paired_bootstrap_languages({"de": "10", "fr": "1"}, {"de": "01", "fr": "0"}, parallel=True)


def test_one_seed_is_described_as_having_no_interval():
    """One common seed gives a difference but no t interval: the text says so instead of 'n/a'."""
    one = paired_seeds({"1": 0.57}, {"1": 0.56})
    assert one["n"] == 1 and one["ci_low"] is None and one["verdict"] == "n/a"
    assert describe(one) == "+1.00 (1 seed; no interval from one seed)"
    two = paired_seeds({"1": 0.57, "2": 0.58}, {"1": 0.56, "2": 0.56})
    assert describe(two).endswith("(2 seeds; not distinguishable)")
