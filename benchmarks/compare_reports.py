"""
Paired differences between methods of two accuracy reports (`benchmarks/accuracy.py` JSON files),
by seed, on the non-English macro average: the comparison `--references` makes within one report,
across reports made under different harness settings (say, the pair methods at 1 epoch over 3
copies against 3 epochs over 1 copy, both at the same optimizer steps).

    python benchmarks/compare_reports.py \
        benchmarks/results/accuracy_xnli_one_copy.json:two_stream_ce \
        benchmarks/results/accuracy_xnli_equal_steps.json:two_stream_ce [MINE THEIRS ...]

Each pair is `MINE THEIRS` (`FILE:NAME`, NAME a method or variant of that report) and prints
`MINE - THEIRS` with its 95% t interval over the seeds both have, the optimizer steps of each side
and the harness settings in which the two reports differ. Two reports of different protocols, or
sides trained at different optimizer steps (not an equal-cost comparison), stop it with a message
naming them. Where both reports hold the same method with the same settings for it (plain
fine-tuning, typically), `--check-shared NAME` requires its per-seed accuracies to be identical in
both, which is what makes runs of the two reports pair by seed at all.

`--pool` adds one more line: the pairs taken together, with the seed as the unit. Each seed's
difference is the mean of the pairs' differences on it, and one 95% t interval runs over the seeds
(n − 1 degrees of freedom). It is how replications of one comparison on two devices (the same
methods, seeds 1-5 trained on a GPU and again on the CPU) combine: runs of one seed on two devices
share the data order and initial draws and differ only in rounding, so their differences are
correlated and must not count as independent samples. Pairs at different optimizer steps, or two
pairs whose sides hold the same runs (identical per-seed accuracies on the seeds both have, as a
shared method's runs in two reports of one device do), stop it.

`--contrast` takes exactly two pairs and adds the first pair's difference minus the second's, by
seed, with one 95% t interval over the seeds both pairs have: whether a gain changes between two
settings, typically two budgets (the freeze's gain over two-stream CE at 936 optimizer steps
against its gain at 468, on the same seeds). Each pair is still at equal cost within itself; the
two pairs may differ in steps, and the line says so. It is an interaction, not a comparison of
methods, so it never states that one method beats another.
"""
import argparse
import json
import sys
from pathlib import Path
from typing import Dict, List, Tuple

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from eapr_plugin.common.paired import describe, paired_seeds, seed_order  # noqa: E402

#: settings that do not change what a run computes (where its outputs go, how many at once)
NOT_TRAINING = ("out", "report_only", "references", "runs_dir", "jobs", "bootstrap_samples", "seeds",
                "methods", "variant", "variants", "reselect", "reselect_average_last", "threads")


def side(spec: str, reports: Dict[str, Dict]) -> Tuple[str, Dict]:
    """`FILE:NAME` as (NAME, FILE's report), each file read once into `reports`."""
    path, colon, name = spec.rpartition(":")
    if not colon or not path:
        raise SystemExit(f"{spec}: not FILE:NAME")
    if path not in reports:
        reports[path] = json.loads(Path(path).read_text())
    report = reports[path]
    if name not in report.get("summary", {}):
        raise SystemExit(f"{spec}: {path} has no {name!r} (it has {', '.join(report.get('summary', {}))})")
    return name, report


def differing_settings(mine: Dict, theirs: Dict) -> List[str]:
    keys = sorted((set(mine) | set(theirs)) - set(NOT_TRAINING))
    return [f"{key} {mine.get(key)!r} vs {theirs.get(key)!r}" for key in keys if mine.get(key) != theirs.get(key)]


def compare(mine_spec: str, theirs_spec: str, reports: Dict[str, Dict]) -> Dict:
    mine, mine_report = side(mine_spec, reports)
    theirs, theirs_report = side(theirs_spec, reports)
    if mine_report["protocol"] != theirs_report["protocol"]:
        raise SystemExit(f"{mine_spec} vs {theirs_spec}: protocols differ "
                         f"({mine_report['protocol']} vs {theirs_report['protocol']})")
    steps = (mine_report["summary"][mine]["optimizer_steps"], theirs_report["summary"][theirs]["optimizer_steps"])
    if steps[0] != steps[1]:
        raise SystemExit(f"{mine_spec} vs {theirs_spec}: optimizer steps differ ({steps[0]} vs {steps[1]}): "
                         "not an equal-cost comparison")
    result = paired_seeds(mine_report["summary"][mine]["non_english_by_seed"],
                          theirs_report["summary"][theirs]["non_english_by_seed"])
    if not result["n"]:
        raise SystemExit(f"{mine_spec} vs {theirs_spec}: no seed in both, nothing to pair")
    return {"mine": mine_spec, "theirs": theirs_spec, "optimizer_steps": steps[0],
            "settings_differ": differing_settings(mine_report["settings"], theirs_report["settings"]),
            "average_non_english": result}


def check_shared(name: str, first: Dict, second: Dict, first_path: str, second_path: str) -> str:
    """The same method in both reports: identical per-seed accuracies on the seeds both ran."""
    a, b = first["runs"].get(name), second["runs"].get(name)
    if a is None or b is None:
        raise SystemExit(f"--check-shared {name}: not in both {first_path} and {second_path}")
    seeds = sorted(set(a) & set(b), key=seed_order)
    if not seeds:
        raise SystemExit(f"--check-shared {name}: no seed in both {first_path} and {second_path}")
    differ = [seed for seed in seeds if a[seed] != b[seed]]
    if differ:
        raise SystemExit(f"--check-shared {name}: seeds {', '.join(differ)} differ between {first_path} and "
                         f"{second_path}: the two reports' runs do not pair by seed")
    return f"{name}: identical in both reports on seeds {', '.join(seeds)}"


def pool(results: List[Dict], reports: Dict[str, Dict]) -> Dict:
    """The pairs' differences with the seed as the unit (each seed's mean over the pairs): one t interval."""
    steps = {json.dumps(result["optimizer_steps"]) for result in results}
    if len(steps) > 1:
        raise SystemExit(f"--pool: the pairs ran different optimizer steps ({', '.join(sorted(steps))}): "
                         "not one comparison")
    runs = []  # (pair index, FILE:NAME, per-seed accuracy) of every side
    for index, result in enumerate(results):
        for spec in (result["mine"], result["theirs"]):
            name, report = side(spec, reports)
            by_seed = report["summary"][name]["non_english_by_seed"]
            for other_index, other_spec, other in runs:
                common = set(by_seed) & set(other)
                if other_index != index and common and all(by_seed[k] == other[k] for k in common):
                    raise SystemExit(f"--pool: {spec} and {other_spec} hold the same runs (identical on seeds "
                                     f"{', '.join(sorted(common, key=seed_order))}): the pooled differences "
                                     "would not be independent")
            runs.append((index, spec, by_seed))
    by_seed: Dict[str, List[float]] = {}
    for result in results:
        pair = result["average_non_english"]
        for seed, difference in zip(pair["seeds"], pair["differences"]):
            by_seed.setdefault(seed, []).append(difference)
    mine = {seed: sum(values) / len(values) for seed, values in by_seed.items()}
    theirs = {seed: 0.0 for seed in by_seed}
    return {"pairs": [f"{result['mine']} - {result['theirs']}" for result in results],
            "optimizer_steps": results[0]["optimizer_steps"], "average_non_english": paired_seeds(mine, theirs)}


def contrast(results: List[Dict]) -> Dict:
    """(first pair's difference) − (second pair's difference), by seed, over the seeds both pairs have."""
    first, second = ({seed: difference for seed, difference in zip(result["average_non_english"]["seeds"],
                                                                   result["average_non_english"]["differences"])}
                     for result in results)
    change = paired_seeds(first, second)
    if not change["n"]:
        raise SystemExit(f"--contrast: {results[0]['mine']} - {results[0]['theirs']} and {results[1]['mine']} - "
                         f"{results[1]['theirs']} have no seed in common, nothing to contrast")
    return {"pairs": [f"{result['mine']} - {result['theirs']}" for result in results],
            "optimizer_steps": [result["optimizer_steps"] for result in results], "average_non_english": change}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sides", nargs="+", metavar="FILE:NAME", help="pairs MINE THEIRS")
    parser.add_argument("--check-shared", action="append", default=[], metavar="NAME",
                        help="a method both reports ran the same way (repeatable): its per-seed accuracies must be "
                             "identical in both")
    parser.add_argument("--pool", action="store_true",
                        help="also pool the pairs (replications of one comparison, each pair's runs its own) with "
                             "the seed as the unit: each seed's mean difference, one t interval over the seeds")
    parser.add_argument("--contrast", action="store_true",
                        help="also the first pair's difference minus the second's, by seed (exactly two pairs; "
                             "they may differ in optimizer steps, e.g. two budgets): whether a gain changes "
                             "between two settings")
    parser.add_argument("--out", default=None, help="JSON output (optional)")
    args = parser.parse_args()
    if len(args.sides) % 2:
        raise SystemExit(f"{len(args.sides)} FILE:NAME given: pairs MINE THEIRS need an even number")
    if args.pool and len(args.sides) < 4:
        raise SystemExit("--pool: needs at least two pairs to pool")
    if args.contrast and len(args.sides) != 4:
        raise SystemExit(f"--contrast: needs exactly two pairs ({len(args.sides) // 2} given)")
    reports: Dict[str, Dict] = {}
    results = [compare(args.sides[i], args.sides[i + 1], reports) for i in range(0, len(args.sides), 2)]
    checks = []
    if args.check_shared:
        if len(reports) != 2:
            raise SystemExit(f"--check-shared: needs exactly two report files among the pairs ({len(reports)})")
        (first, first_report), (second, second_report) = sorted(reports.items())
        for name in args.check_shared:
            checks.append(check_shared(name, first_report, second_report, first, second))
            print(checks[-1])
    for result in results:
        print(f"{result['mine']} - {result['theirs']} ({result['optimizer_steps']} steps): "
              f"{describe(result['average_non_english'])}"
              + (f"; settings differ: {', '.join(result['settings_differ'])}" if result["settings_differ"] else ""))
    output = {"checks": checks, "comparisons": results}
    if args.pool:
        output["pooled"] = pool(results, reports)
        print(f"pooled, {len(results)} pairs ({output['pooled']['optimizer_steps']} steps): "
              f"{describe(output['pooled']['average_non_english'])}")
    if args.contrast:
        output["contrast"] = contrast(results)
        steps = output["contrast"]["optimizer_steps"]
        print(f"contrast, ({output['contrast']['pairs'][0]}) - ({output['contrast']['pairs'][1]}) "
              f"({steps[0]} vs {steps[1]} steps): {describe(output['contrast']['average_non_english'])}")
    if args.out:
        Path(args.out).write_text(json.dumps(output, indent=2))


if __name__ == "__main__":
    main()
