"""
Paired comparisons of two methods, as every accuracy claim of this project is made.

- Over seeds: run `A` and `B` on the same seeds and take the per-seed difference `A - B`; report
  its mean, sample standard deviation and the 95% Student-t interval
  `mean ± t(0.975, n-1) · std / sqrt(n)`.
- Over test examples, for single runs: a paired bootstrap (resample the test examples with
  replacement, the same draw for both systems, `samples` times) of the accuracy difference;
  the 95% interval is the 2.5th to 97.5th percentile.

A difference is called a gain (or a loss) only where its interval excludes 0; otherwise the two
are "not distinguishable" at this budget.
"""
import math
import statistics
from typing import Dict, Mapping, Optional, Sequence, Tuple

import numpy
from scipy import stats

CONFIDENCE = 0.95


def verdict(low: Optional[float], high: Optional[float]) -> str:
    if low is None or high is None:
        return "n/a"
    if low > 0:
        return "gain"
    if high < 0:
        return "loss"
    return "not distinguishable"


def paired_seeds(a: Mapping[str, float], b: Mapping[str, float]) -> Dict[str, object]:
    """Per-seed difference `a - b` over the seeds both have: mean, std, 95% t interval, verdict."""
    seeds = sorted(set(a) & set(b), key=str)
    differences = [a[seed] - b[seed] for seed in seeds]
    result: Dict[str, object] = {"seeds": seeds, "n": len(seeds), "differences": differences,
                                 "mean": None, "std": None, "ci_low": None, "ci_high": None}
    if not differences:
        result["verdict"] = "no common seed"
        return result
    mean = statistics.mean(differences)
    result["mean"] = mean
    if len(differences) > 1:
        std = statistics.stdev(differences)
        half = stats.t.ppf(0.5 + CONFIDENCE / 2, len(differences) - 1) * std / math.sqrt(len(differences))
        result.update(std=std, ci_low=mean - half, ci_high=mean + half)
    result["verdict"] = verdict(result["ci_low"], result["ci_high"])
    return result


def paired_bootstrap(correct_a: Sequence[int], correct_b: Sequence[int], samples: int = 10000,
                     seed: int = 0) -> Dict[str, object]:
    """Accuracy difference `a - b` of two systems on the same examples (0/1 per example, same order),
    with a 95% paired-bootstrap interval and its verdict."""
    return paired_bootstrap_macro([(correct_a, correct_b)], samples, seed)


def paired_bootstrap_macro(groups: Sequence[Tuple[Sequence[int], Sequence[int]]], samples: int = 10000,
                           seed: int = 0) -> Dict[str, object]:
    """The same for a macro average over groups (languages): each group's examples are resampled
    on their own, the same draw for both systems, and the per-group accuracy differences averaged."""
    rng = numpy.random.default_rng(seed)
    deltas = numpy.zeros(samples)
    point = 0.0
    for correct_a, correct_b in groups:
        a = numpy.asarray(correct_a, dtype=float)
        b = numpy.asarray(correct_b, dtype=float)
        if a.shape != b.shape or a.size == 0:
            raise ValueError(f"paired bootstrap needs the same non-empty examples, got {a.size} and {b.size}")
        draws = rng.integers(0, a.size, size=(samples, a.size))
        deltas += a[draws].mean(axis=1) - b[draws].mean(axis=1)
        point += a.mean() - b.mean()
    deltas /= len(groups)
    low, high = numpy.percentile(deltas, [100 * (1 - CONFIDENCE) / 2, 100 * (1 + CONFIDENCE) / 2])
    return {"mean": float(point / len(groups)), "ci_low": float(low), "ci_high": float(high),
            "n_examples": int(sum(len(a) for a, _ in groups)), "samples": samples,
            "verdict": verdict(float(low), float(high))}


def points(value: Optional[float]) -> str:
    return "-" if value is None else f"{100 * value:+.2f}"


def describe(result: Mapping[str, object]) -> str:
    """`+0.42 [-0.37, +1.21] (5 seeds; not distinguishable)` in accuracy points."""
    if result.get("mean") is None:
        return str(result.get("verdict", "-"))
    interval = f" [{points(result['ci_low'])}, {points(result['ci_high'])}]" if result.get("ci_low") is not None else ""
    count = f"{result['n']} seeds" if "n" in result else f"{result['n_examples']} examples"
    return f"{points(result['mean'])}{interval} ({count}; {result['verdict']})"


def non_english_average_by_seed(runs: Mapping[str, Mapping[str, float]]) -> Dict[str, float]:
    """`{seed: non-English macro average}` of `{seed: {language: accuracy}}`."""
    from eapr_plugin.common.reporting import summarize

    return {seed: summarize(accuracies)["average_non_english"] for seed, accuracies in runs.items()}
