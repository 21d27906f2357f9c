"""
Paired comparisons of two methods, as every accuracy claim of this project is made.

- Over seeds: run `A` and `B` on the same seeds and take the per-seed difference `A - B`; report
  its mean, sample standard deviation and the 95% Student-t interval
  `mean ± t(0.975, n-1) · std / sqrt(n)`.
- Over test examples, for single runs: a paired bootstrap (resample the test examples with
  replacement, the same draw for both systems, `samples` times) of the accuracy difference;
  the 95% interval is the 2.5th to 97.5th percentile. It is drawn as the counts of each kind of
  example (only A right, only B right, tie), which is the same distribution (`_bootstrap_deltas`).
  A macro average over languages whose test sets are translations of one another (row i the same
  item in every language) resamples the rows once for all languages (`parallel=True`).

A difference is called a gain (or a loss) only where its interval excludes 0; otherwise the two
are "not distinguishable" at this budget.
"""
import math
import statistics
from typing import Dict, Mapping, Optional, Sequence, Tuple

import numpy
from scipy import stats

CONFIDENCE = 0.95


def seed_order(seed) -> Tuple[int, int, str]:
    """Sort key for seeds, which reports key as strings: numbers in numeric order ("2" before "10"),
    then any other name."""
    text = str(seed)
    return (0, int(text), "") if text.isdigit() else (1, 0, text)


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
    seeds = sorted(set(a) & set(b), key=seed_order)
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
                           seed: int = 0, parallel: bool = False) -> Dict[str, object]:
    """The same for a macro average over groups (languages). Independent groups (`parallel=False`)
    are resampled each on its own, the same draw for both systems, and the per-group differences
    averaged. Parallel groups (`parallel=True`: row i of every group is the same test item, e.g.
    XNLI's, PAWS-X's and SIB-200's translations) are resampled together, one draw of rows for all
    groups: an item that is hard in one language tends to be hard in the others, and resampling
    the languages apart would treat that shared variation as independent and narrow the interval."""
    rng = numpy.random.default_rng(seed)
    if parallel:
        return _interval([_bootstrap_deltas(groups, samples, rng)])
    return _interval([_bootstrap_deltas([group], samples, rng) for group in groups])


def paired_bootstrap_languages(correct_a: Mapping[str, Sequence[int]], correct_b: Mapping[str, Sequence[int]],
                               samples: int = 10000, seed: int = 0, parallel: bool = False) -> Dict[str, Dict[str, object]]:
    """Both of the above for two single runs scored on the same languages (`{language: 0/1 per
    example}`): `{"per_language": {language: bootstrap}, "average_non_english": bootstrap}`. Each
    language's interval is its own bootstrap; the macro average's draws are those per-language draws
    averaged, or with `parallel=True` (the languages' files are row-aligned translations) one joint
    draw of rows for all non-English languages (`paired_bootstrap_macro`)."""
    from eapr_plugin.common.languages import is_english

    rng = numpy.random.default_rng(seed)
    deltas = {language: _bootstrap_deltas([(correct_a[language], correct_b[language])], samples, rng)
              for language in correct_a}
    targets = [language for language in deltas if not is_english(language)]
    if not targets:
        raise ValueError(f"no non-English language among {sorted(deltas)}")
    if parallel:
        macro = _interval([_bootstrap_deltas([(correct_a[l], correct_b[l]) for l in targets], samples, rng)])
    else:
        macro = _interval([deltas[language] for language in targets])
    return {"per_language": {language: _interval([d]) for language, d in deltas.items()},
            "average_non_english": macro}


def _bootstrap_deltas(groups: Sequence[Tuple[Sequence[int], Sequence[int]]], samples: int,
                      rng: numpy.random.Generator) -> Tuple[float, numpy.ndarray, int]:
    """Groups of the same n rows (one group, or parallel groups: row i the same item in each): the
    point difference of `a - b` averaged over the groups, its `samples` values on n rows drawn with
    replacement once for all groups, and the number of examples.

    A row's difference averaged over the groups takes one of few values (-1, 0, 1 for one group),
    and the mean over n drawn rows depends only on how many rows of each value were drawn: those
    counts are Multinomial(n, the values' shares), so drawing them gives the same bootstrap
    distribution as drawing n row indices, in O(samples · values) instead of O(samples · n)."""
    a = [numpy.asarray([int(c) for c in correct_a], dtype=numpy.int64) for correct_a, _ in groups]
    b = [numpy.asarray([int(c) for c in correct_b], dtype=numpy.int64) for _, correct_b in groups]
    sizes = sorted({x.size for x in a + b})
    if len(sizes) != 1 or sizes[0] == 0:
        raise ValueError(f"a paired bootstrap needs the same non-empty examples for both systems (and the "
                         f"same non-empty rows in every group resampled together), got sizes {sizes}")
    n = sizes[0]
    per_row = numpy.mean([x - y for x, y in zip(a, b)], axis=0)
    values, counts = numpy.unique(per_row, return_counts=True)
    drawn = rng.multinomial(n, counts / n, size=samples)
    return float(per_row.mean()), drawn @ values / n, n * len(groups)


def _interval(groups: Sequence[Tuple[float, numpy.ndarray, int]]) -> Dict[str, object]:
    """Mean difference over groups with the 2.5th-97.5th percentile of its resampled values."""
    deltas = numpy.mean([d for _, d, _ in groups], axis=0)
    low, high = numpy.percentile(deltas, [100 * (1 - CONFIDENCE) / 2, 100 * (1 + CONFIDENCE) / 2])
    return {"mean": float(numpy.mean([point for point, _, _ in groups])), "ci_low": float(low),
            "ci_high": float(high), "n_examples": int(sum(n for _, _, n in groups)), "samples": int(deltas.size),
            "verdict": verdict(float(low), float(high))}


def points(value: Optional[float]) -> str:
    return "-" if value is None else f"{100 * value:+.2f}"


def describe(result: Mapping[str, object]) -> str:
    """`+0.42 [-0.37, +1.21] (5 seeds; not distinguishable)` in accuracy points."""
    if result.get("mean") is None:
        return str(result.get("verdict", "-"))
    interval = f" [{points(result['ci_low'])}, {points(result['ci_high'])}]" if result.get("ci_low") is not None else ""
    count = (f"{result['n']} seed{'s' if result['n'] != 1 else ''}" if "n" in result
             else f"{result['n_examples']} examples")
    verdict_text = "no interval from one seed" if result.get("n") == 1 else result["verdict"]
    return f"{points(result['mean'])}{interval} ({count}; {verdict_text})"


def bootstrap_tally(by_seed: Mapping[str, Mapping[str, Mapping[str, object]]]) -> str:
    """`per seed over test examples: gain on seeds 1, 4; loss on seed 5; 2 not distinguishable` from
    `{seed: paired_bootstrap_languages(...)}` (the macro averages' verdicts)."""
    verdicts = {seed: by_seed[seed]["average_non_english"]["verdict"] for seed in sorted(by_seed, key=seed_order)}
    parts = [f"{kind} on seed{'s' if len(seeds) > 1 else ''} {', '.join(seeds)}"
             for kind in ("gain", "loss") for seeds in [[s for s, v in verdicts.items() if v == kind]] if seeds]
    rest = sum(v not in ("gain", "loss") for v in verdicts.values())
    return "per seed over test examples: " + "; ".join(parts + ([f"{rest} not distinguishable"] if rest else []))


def non_english_average_by_seed(runs: Mapping[str, Mapping[str, float]]) -> Dict[str, float]:
    """`{seed: non-English macro average}` of `{seed: {language: accuracy}}`."""
    from eapr_plugin.common.reporting import summarize

    return {seed: summarize(accuracies)["average_non_english"] for seed, accuracies in runs.items()}
