"""
`allennlp compare-languages`: evaluate groups of archives (one archive per seed) on every language
and compare the groups with paired statistics.
"""
import argparse
import json
import logging
import os
from typing import Any, Dict, List, Optional, Sequence

from allennlp.commands.subcommand import Subcommand
from allennlp.common.checks import ConfigurationError

from eapr_plugin.commands.evaluate_languages import add_allow_unfinished, evaluate_languages
from eapr_plugin.models.archival import check_finished
from eapr_plugin.common.paired import describe, paired_bootstrap_languages, paired_seeds
from eapr_plugin.common.reporting import bar_chart, language_order, markdown_table, mean_std, summarize

logger = logging.getLogger(__name__)

AVERAGE = "avg (non-en)"


@Subcommand.register("compare-languages")
class CompareLanguages(Subcommand):
    """
    Evaluates every archive of every group once on every language (as `evaluate-languages` does;
    each archive's own outputs go to `OUTPUT_DIR/GROUP/run_I/`), then writes `comparison.json`,
    `comparison.md` and `comparison.png` to `--output-dir`:

    - per group and language, the mean ± std over the group's archives (seeds), and the
      non-English macro average per archive, then mean ± std;
    - for every group against the `--reference` group (default: the last one): the paired
      difference on the non-English average and per language. Archives are paired by position:
      the i-th archive of each group is run i (list them in seed order). With several pairs the
      interval is the 95% Student-t interval over runs; with one archive per group it is a 95%
      paired bootstrap over the test examples. With `--parallel` (the languages' files are
      translations of one another row by row, as XNLI's, PAWS-X's and SIB-200's are) the
      bootstrap of the non-English average resamples the rows jointly across languages; without
      it each language is resampled on its own, which assumes independent test sets and gives
      parallel ones too narrow an interval. A difference is a gain or a loss only where its
      interval excludes 0;
    - the budget of each archive's run (optimizer steps, from the archive's run status where the
      recipes' `eapr_run_record` callback put one): `comparison.md` says whether the groups trained
      the same number of optimizer steps, and warns when they did not (then it is not a comparison
      at equal cost) or when some archive does not say.

    Every archive is checked before any is evaluated: one of an unfinished run fails the command
    unless `--allow-unfinished` is given (as for `evaluate-languages`).

    Registered as a `Subcommand` with name "compare-languages".
    """

    requires_plugins = True

    def add_subparser(self, parser: argparse._SubParsersAction) -> argparse.ArgumentParser:
        description = "Compare groups of archives (seeds) per language with paired intervals."
        subparser = parser.add_parser(self.name, description=description, help=description)
        subparser.add_argument("inputs", nargs="+", help="data as for evaluate-languages (files, globs, "
                                                         "folders, hf:...{lang}..., LANG=INPUT)")
        subparser.add_argument("--group", action="append", required=True, metavar="NAME=ARCHIVE[,ARCHIVE...]",
                               help="a method and its archives, one per seed, in seed order (repeat)")
        subparser.add_argument("--reference", default=None, help="the group the others are compared with "
                                                                 "(default: the last --group)")
        subparser.add_argument("--output-dir", required=True)
        subparser.add_argument("--languages", nargs="+", default=None)
        subparser.add_argument("--split", default="test")
        subparser.add_argument("--cuda-device", type=int, default=-1)
        subparser.add_argument("--batch-size", type=int, default=64)
        subparser.add_argument("--bootstrap-samples", type=int, default=10000)
        subparser.add_argument("--parallel", action="store_true",
                               help="the languages' files are row-aligned translations (XNLI, PAWS-X, SIB-200): "
                                    "the single-run bootstrap resamples rows jointly across languages")
        add_allow_unfinished(subparser)
        subparser.set_defaults(func=compare_languages_from_args)
        return subparser


def parse_groups(groups: Sequence[str]) -> Dict[str, List[str]]:
    parsed: Dict[str, List[str]] = {}
    for item in groups:
        name, _, archives = item.partition("=")
        paths = [path for path in archives.split(",") if path]
        if not name or not paths:
            raise ConfigurationError(f"--group {item!r}: expected NAME=ARCHIVE[,ARCHIVE...]")
        if name in parsed:
            raise ConfigurationError(f"--group {name!r} is given twice")
        parsed[name] = paths
    if len(parsed) < 2:
        raise ConfigurationError("compare-languages needs at least two --group")
    sizes = {name: len(paths) for name, paths in parsed.items()}
    if len(set(sizes.values())) > 1:
        logger.warning("groups have different numbers of archives %s: pairs use the first runs of each", sizes)
    return parsed


def compare(runs: Dict[str, List[Dict[str, Any]]], reference: str, samples: int = 10000,
            parallel: bool = False) -> Dict[str, Any]:
    """The statistics of `compare-languages` from each group's `evaluate-languages` reports."""
    accuracy = {name: [{lang: r["accuracy"] for lang, r in report["languages"].items()} for report in reports]
                for name, reports in runs.items()}
    languages = language_order({name: rows[0] for name, rows in accuracy.items()})
    summary = {}
    for name, rows in accuracy.items():
        summary[name] = {
            "per_language": {lang: mean_std([row[lang] for row in rows]) for lang in languages if all(lang in r for r in rows)},
            "average_non_english": mean_std([summarize(row)["average_non_english"] for row in rows]),
            "runs": len(rows),
        }
    differences = {}
    for name in accuracy:
        if name == reference:
            continue
        pairs = min(len(accuracy[name]), len(accuracy[reference]))
        mine, theirs = accuracy[name][:pairs], accuracy[reference][:pairs]
        entry: Dict[str, Any] = {"pairs": pairs}
        if pairs > 1:
            entry["method"] = "paired t over runs"
            entry[AVERAGE] = paired_seeds({str(i): summarize(r)["average_non_english"] for i, r in enumerate(mine)},
                                          {str(i): summarize(r)["average_non_english"] for i, r in enumerate(theirs)})
            entry["per_language"] = {lang: paired_seeds({str(i): r[lang] for i, r in enumerate(mine)},
                                                        {str(i): r[lang] for i, r in enumerate(theirs)})
                                     for lang in languages}
        else:
            entry["method"] = "paired bootstrap over test examples"
            a, b = runs[name][0]["languages"], runs[reference][0]["languages"]
            bootstrap = paired_bootstrap_languages({lang: a[lang]["correct"] for lang in languages},
                                                   {lang: b[lang]["correct"] for lang in languages}, samples,
                                                   parallel=parallel)
            entry["rows"] = "resampled jointly across languages (parallel)" if parallel else "resampled per language"
            entry["per_language"], entry[AVERAGE] = bootstrap["per_language"], bootstrap["average_non_english"]
        differences[name] = entry
    return {"reference": reference, "languages": languages, "summary": summary, "differences": differences,
            "budget": budget(runs)}


def budget(runs: Dict[str, List[Dict[str, Any]]]) -> Dict[str, Any]:
    """Optimizer steps of every group's runs (None where an archive carries no run status), and
    whether the comparison is at equal cost: `equal_steps` is True or False when every archive says,
    None when some do not."""
    steps = {name: [(report.get("run") or {}).get("optimizer_steps") for report in reports]
             for name, reports in runs.items()}
    known = [value for values in steps.values() for value in values]
    equal = None if None in known else len(set(known)) == 1
    return {"optimizer_steps": steps, "equal_steps": equal}


def budget_line(budget_: Dict[str, Any]) -> str:
    """One sentence on the groups' budgets for `comparison.md` (and the log when it is not equal)."""
    steps = "; ".join(f"{name}: {', '.join('?' if v is None else str(v) for v in values)}"
                      for name, values in budget_["optimizer_steps"].items())
    if budget_["equal_steps"]:
        return f"Every run made the same number of optimizer steps ({steps})."
    if budget_["equal_steps"] is False:
        return (f"**NOT A COMPARISON AT EQUAL COST**: the runs made different numbers of optimizer steps "
                f"({steps}); a difference here may be the budget's, not the method's.")
    return (f"**Budget unknown** for the runs marked ? (their archives carry no run status): equal cost is not "
            f"established ({steps}).")


def markdown(result: Dict[str, Any]) -> str:
    summary = result["summary"]
    rows = {name: s["per_language"] for name, s in summary.items()}
    table = markdown_table(rows, {AVERAGE: {name: s["average_non_english"] for name, s in summary.items()}},
                           first_column="method")
    lines = [table, f"Paired difference with `{result['reference']}` (accuracy points, 95% interval; a gain or a "
                    "loss only where the interval excludes 0):", "",
             "| method | pairs | interval | " + AVERAGE + " | " + " | ".join(result["languages"]) + " |",
             "|---|---|---|---|" + "---|" * len(result["languages"])]
    for name, entry in result["differences"].items():
        cells = [name, str(entry["pairs"]), entry["method"], describe(entry[AVERAGE])]
        cells += [describe(entry["per_language"][lang]).split(" (")[0] + _mark(entry["per_language"][lang])
                  for lang in result["languages"]]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", budget_line(result["budget"])]
    return "\n".join(lines) + "\n"


def _mark(stat: Dict[str, Any]) -> str:
    return {"gain": " ▲", "loss": " ▼"}.get(stat.get("verdict"), "")


def compare_languages(inputs: Sequence[str], groups: Dict[str, List[str]], output_dir: str,
                      reference: Optional[str] = None, languages: Optional[Sequence[str]] = None,
                      split: str = "test", cuda_device: int = -1, batch_size: int = 64,
                      samples: int = 10000, parallel: bool = False,
                      allow_unfinished: bool = False) -> Dict[str, Any]:
    reference = reference or list(groups)[-1]
    if reference not in groups:
        raise ConfigurationError(f"--reference {reference!r} is not one of the groups {list(groups)}")
    for archives in groups.values():  # every archive checked before the first is scored
        for archive in archives:
            check_finished(archive, allow_unfinished)
    runs = {name: [evaluate_languages(archive, inputs, os.path.join(output_dir, name, f"run_{index}"),
                                      languages=languages, split=split, cuda_device=cuda_device,
                                      batch_size=batch_size, allow_unfinished=allow_unfinished)
                   for index, archive in enumerate(archives)]
            for name, archives in groups.items()}
    result = compare(runs, reference, samples, parallel)
    result["archives"] = groups
    if result["budget"]["equal_steps"] is not True:
        logger.warning(budget_line(result["budget"]).replace("**", ""))
    os.makedirs(output_dir, exist_ok=True)
    with open(os.path.join(output_dir, "comparison.json"), "w", encoding="utf-8") as handle:
        json.dump(result, handle, indent=2)
    text = markdown(result)
    with open(os.path.join(output_dir, "comparison.md"), "w", encoding="utf-8") as handle:
        handle.write(text)
    rows = {f"{name} ({s['runs']})": s["per_language"] for name, s in result["summary"].items()}
    averages = {f"{name} ({s['runs']})": s["average_non_english"] for name, s in result["summary"].items()}
    bar_chart(rows, os.path.join(output_dir, "comparison.png"), "accuracy, mean ± std over runs", averages=averages)
    print(text)
    return result


def compare_languages_from_args(args: argparse.Namespace) -> Dict[str, Any]:
    return compare_languages(args.inputs, parse_groups(args.group), args.output_dir, args.reference,
                             args.languages, args.split, args.cuda_device, args.batch_size, args.bootstrap_samples,
                             args.parallel, args.allow_unfinished)
