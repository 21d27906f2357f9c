"""
Print the benchmark tables (markdown) from the JSON files under benchmarks/results/.

    python benchmarks/report.py [RESULTS_DIR] [--benchmarks docs/benchmarks.md] [--readme README.md]

`--benchmarks` writes the tables into that file between the `<!-- results:start -->` and
`<!-- results:end -->` markers; `--readme` writes the demo's table (from `demo.json`, the
`results.json` of a `make demo` run copied there) between `<!-- demo:start -->` and
`<!-- demo:end -->`, the equal-optimizer-steps accuracy tables between `<!-- accuracy:start -->` and
`<!-- accuracy:end -->` (where the README has them), and the speed tables (`speed.json` on the CPU
first, then every other `speed*.json`) between `<!-- speed:start -->` and `<!-- speed:end -->`.
The prose around the markers is left alone.
"""
import argparse
import contextlib
import glob
import io
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from accuracy import PAPER_WEIGHTS, PROTOCOLS  # noqa: E402

from eapr_plugin.common.languages import is_english  # noqa: E402
from eapr_plugin.common.reporting import percent  # noqa: E402


def speed(report):
    s = report["settings"]
    floor = all("two_streams_over_plain_step_time" in r for r in report["results"])
    floor_note = ("; `two streams ÷ plain` is plain fine-tuning on both streams' inputs as one batch (the "
                  "original and perturbed rows together, dynamic padding) ÷ plain fine-tuning, the least any "
                  "method that trains on both streams can cost, and `masked ÷ two streams` how far EAPR's masked "
                  "step sits above that floor (1.00 = on it)")
    amp = f", AMP {s['amp']}" if s.get("amp", "none") != "none" else (", fp32" if s.get("device") == "cuda" else "")
    optimizers = report.get("optimizers")
    amp += (f"; AdamW: reference as a loop over the parameters (the release's), plugin `{optimizers['plugin']}`"
            if optimizers else "; AdamW: torch's default implementation for every variant")
    if s.get("random_init"):
        amp += "; each encoder's architecture with random weights (`--random-init`: times do not depend on the values)"
    print(f"Speed ({report['date']}; {report['machine']}; torch {report['versions']['torch']}, "
          f"transformers {report['versions']['transformers']}, allennlp {report['versions']['allennlp']}{amp}; "
          f"real XNLI dev pairs with our perturbation, inputs up to {s['max_length']} pieces, Attention-Pull on "
          f"layer {s['layer']}; median of {s['rounds']} interleaved rounds). `reference` computes what the authors' "
          f"release computes, its way (every layer's hidden states and attention maps, eager attention, both streams "
          f"padded to {s['max_length']}, two forward calls); speed-ups are reference step time ÷ plugin step time "
          f"(= pairs/s ratio); `exact ÷ plain` compares both padded to {s['max_length']}, `masked ÷ plain` both with "
          f"dynamic padding" + (floor_note if floor else "") + ":\n")
    memory = any("peak_memory_mb" in r for r in report["results"])
    memory_label = ("step MB (above the resident weights)" if any("step_memory_mb" in r for r in report["results"])
                    else "peak MB")
    print("| encoder | batch | pairs/s reference | pairs/s exact | pairs/s masked | exact speed-up | masked speed-up "
          "| exact ÷ plain (padded) | masked ÷ plain (dynamic) |"
          + (" two streams ÷ plain (dynamic) | masked ÷ two streams |" if floor else "")
          + (f" {memory_label} reference / exact / masked |" if memory else ""))
    print("|---|---|---|---|---|---|---|---|---|" + ("---|---|" if floor else "") + ("---|" if memory else ""))
    for r in report["results"]:
        rate = r["pairs_per_s"]
        cells = [f"{r['layers']} layers", str(r["batch_size"]), f"{rate['reference']:.2f}", f"{rate['eapr_exact']:.2f}",
                 f"{rate['eapr_masked']:.2f}", f"**{r['exact_speedup_over_reference']:.2f}×**",
                 f"**{r['masked_speedup_over_reference']:.2f}×**", f"{r['eapr_over_plain_step_time']:.2f}",
                 f"{r['eapr_masked_over_plain_step_time']:.2f}"]
        if floor:
            cells += [f"{r['two_streams_over_plain_step_time']:.2f}", f"{r['eapr_masked_over_two_streams_step_time']:.2f}"]
        if memory:
            peak = r.get("step_memory_mb", r.get("peak_memory_mb", {}))
            cells.append(" / ".join(f"{peak[v]:.0f}" for v in ("reference", "eapr_exact", "eapr_masked")) if peak else "-")
        print("| " + " | ".join(cells) + " |")
    print()


def alignment(path, report):
    s = report["settings"]
    print(f"Alignment, `{Path(path).name}` ({report['date']}; {report['sentences']} parallel sentences per "
          f"language from `{s['parallel']}`; mean ± std over the archives (seeds) listed):\n")
    print("| model | runs | mean retrieval accuracy (vs English) | mean centroid distance to English |")
    print("|---|---|---|---|")
    for name, result in report["results"].items():
        runs = result.get("runs", 1)
        retrieval, distance = f"{100 * result['mean_retrieval_accuracy']:.1f}", f"{result['mean_centroid_distance']:.3f}"
        if runs > 1:
            retrieval += f" ± {100 * result['std_retrieval_accuracy']:.1f}"
            distance += f" ± {result['std_centroid_distance']:.3f}"
        print(f"| {name} | {runs} | {retrieval} | {distance} |")
    print()


def perturbation_shift(path, report):
    print(f"Perturbation shift, `{Path(path).name}` ({report['date']}; English rows each run selected on, "
          "then the same rows perturbed as training perturbs them (copy 0 of each example): the paper's copy, "
          "each text on its own, and for pairs shared swaps; mean ± std over the archives (seeds) listed):\n")
    print("| model | runs | accuracy, original | paper's copies | flipped | shared swaps | flipped |")
    print("|---|---|---|---|---|---|---|")
    for name, result in report["results"].items():
        summary = result["summary"]

        def cell(key):
            return f"{100 * summary[key]['mean']:.1f} ± {100 * summary[key]['std']:.1f}" if key in summary else "–"

        print(f"| {name} | {len(result['runs'])} | {cell('accuracy_original')} | {cell('accuracy_paper')} | "
              f"{cell('flipped_paper')} | {cell('accuracy_shared')} | {cell('flipped_shared')} |")
    print()


def influence_sweep(reports):
    """One row per (α, β): each weighted term's encoder gradient norm ÷ the task CE's."""
    first = reports[0][1]["settings"]
    print(f"Term influence ({reports[0][1]['date']}; gradient norm over the encoder's parameters of each "
          f"weighted term ÷ that of the task CE, mean of {first['batches']} fixed batches, at the start and "
          f"after {first['steps']} training steps; {Path(first['train']).parent.name}, max length "
          f"{first['max_length']}):\n")
    print("| α | β | RT start → end | α·EP start → end | β·AP start → end |")
    print("|---|---|---|---|---|")
    for _, report in sorted(reports, key=lambda r: (r[1]["settings"]["alpha"], r[1]["settings"]["beta"])):
        start, end = report["ratio_to_task_start"], report["ratio_to_task_end"]
        cells = [f"{start[k]:.3g} → {end[k]:.3g}" for k in
                 ("robust_targets_loss", "embedding_push_loss", "attention_pull_loss")]
        print(f"| {report['settings']['alpha']} | {report['settings']['beta']} | " + " | ".join(cells) + " |")
    print()


def cross_lingual(reports, samples: int = 5000):
    """The generalized cross-lingual setting (`cross_lingual_*.json`: the `cross_lingual.json` of
    `allennlp evaluate-languages ARCHIVE FILES --cross-lingual`, copied here): one row per archive with
    its same-language and mixed-language means and, from the second file on, its mixed-language mean
    minus the first file's with a paired bootstrap over the examples (single runs; every pair holds
    the same parallel rows, so the rows are resampled once for all pairs), then each archive's premise × hypothesis matrix."""
    from eapr_plugin.common.reporting import matrix_table

    first_path, first = reports[0]
    print(f"Generalized cross-lingual accuracy (premise and hypothesis in different languages; one archive "
          f"per file, `evaluate-languages --cross-lingual` on the archive's scored rows; accuracy, %; the last "
          f"column pairs each archive with `{Path(first_path).name}` on the same examples):\n")
    print("| file | archive | languages | same-language mean | mixed-language mean | mixed-language mean − first file's |")
    print("|---|---|---|---|---|---|")
    for path, report in reports:
        same, mixed = report["summary"]["same_language_mean"], report["summary"]["mixed_language_mean"]
        mixed_pairs = [f"{a}/{b}" for a in report["languages"] for b in report["languages"] if a != b]
        versus = cross_lingual_versus(report, first, mixed_pairs, samples) if path != first_path else "(the reference)"
        print(f"| `{Path(path).name}` | `{report['archive']}` | {', '.join(report['languages'])} | "
              f"{100 * same:.1f} | {100 * mixed:.1f} | {versus} |")
    print()
    for path, report in reports:
        print(f"`{Path(path).stem}` (rows: premise language, columns: hypothesis language):\n")
        print(matrix_table(report["accuracy"], "premise \\ hypothesis"))


def cross_lingual_versus(report, first, mixed_pairs, samples: int) -> str:
    """An archive's mixed-language mean minus the first file's, or why the two cannot be paired."""
    from eapr_plugin.common.paired import describe, paired_bootstrap_macro

    missing = [pair for pair in mixed_pairs if pair not in first["pairs"]]
    if missing:
        return f"not paired: the first file has no {', '.join(missing)}"
    sizes = {(len(report["pairs"][pair]["correct"]), len(first["pairs"][pair]["correct"])) for pair in mixed_pairs}
    if len(sizes) != 1 or len(set(next(iter(sizes)))) != 1:
        return f"not paired: the files hold different rows (row counts this/first: {sorted(sizes)})"
    return describe(paired_bootstrap_macro(  # every pair holds the same rows: resampled jointly
        [(report["pairs"][pair]["correct"], first["pairs"][pair]["correct"]) for pair in mixed_pairs],
        samples, seed=0, parallel=True))


def english_of(per_language) -> str:
    """The English key of a per-language table (XNLI/PAWS-X `en`, SIB-200 `eng_Latn`)."""
    return next(language for language in per_language if is_english(language))


def budget(s) -> str:
    """The training budget of an accuracy report's settings, as the table captions state it."""
    n = s.get("num_perturbations")
    copies = f" over {n} perturbed cop{'y' if n == 1 else 'ies'} per example" if n is not None else ""
    return (f"encoder `{s['encoder']}`; pair methods {s['epochs']} epoch(s){copies}, lr {s['lr']}, "
            f"batch {s['batch_size']}, max length {s['max_length']}, head {s['head']}")


def accuracy(path, report):
    """A compact table (a few languages + averages, the budget of each method); the full one is the .md
    beside the JSON. Reports with paired statistics list them below the table."""
    from eapr_plugin.common.paired import bootstrap_tally, describe

    s = report["settings"]
    equal_steps = s.get("budget") == "equal-steps"
    label = ("**equal optimizer steps**" if equal_steps else
             "**equal epochs** (plain fine-tuning makes a third of the pair methods' optimizer steps)")
    measured = {step for m in report["summary"].values() for step in m.get("optimizer_steps", [])}
    if equal_steps and len(measured) > 1:  # the runs say otherwise: the caption must not claim equal cost
        label = ("**an equal-steps budget whose runs made different numbers of optimizer steps** ("
                 + "; ".join(f"{name} {', '.join(map(str, m.get('optimizer_steps', [])))}"
                             for name, m in report["summary"].items()) + ")")
    oracle = (" (runs trained again with every epoch scored on target-language dev and test sets for "
              "target-language selection, `--oracle`"
              + (f" on {', '.join(s['oracle_languages'])}" if s.get("oracle_languages") else "") + ")"
              if s.get("oracle") else "")
    print(f"Accuracy, {report['protocol']} protocol, {label}{oracle}: {PROTOCOLS[report['protocol']]} ({report['date']}; "
          f"{report['machine']}; {budget(s)}; mean ± std over the seeds listed; full table: "
          f"`{Path(path).with_suffix('.md').name}`):\n")
    first = next(iter(report["summary"].values()))["per_language"]
    english = english_of(first)
    shown = [english] + [l for l in ("deu_Latn", "zho_Hans", "swh_Latn", "yor_Latn", "de", "zh", "ja", "sw")
                         if l in first]
    steps = any("optimizer_steps" in m for m in report["summary"].values())
    print("| method | seeds | " + ("epochs | steps | " if steps else "") + " | ".join(shown) + " | avg non-English |")
    print("|---|---|" + ("---|---|" if steps else "") + "---|" * len(shown) + "---|")
    for method, summary in report["summary"].items():
        cells = [percent(summary["per_language"][l]) for l in shown]
        budget_cells = (f"{summary['epochs']} | {','.join(map(str, summary['optimizer_steps']))} | " if steps else "")
        print(f"| {method} | {','.join(map(str, summary['seeds']))} | {budget_cells}" + " | ".join(cells)
              + f" | **{percent(summary['average_non_english'])}** |")
    print()
    if report.get("paired"):
        print("Paired by seed, non-English average (method − reference, accuracy points, 95% t interval; a gain "
              "or a loss only where the interval excludes 0):\n")
        for name, entry in report["paired"].items():
            tally = f"; {bootstrap_tally(entry['by_seed_bootstrap'])}" if entry.get("by_seed_bootstrap") else ""
            print(f"- {name}: {describe(entry['average_non_english'])}{tally}")
        print()
    for name, entry in report.get("selections", {}).items():
        print(f"Selection `{name}` instead of English dev (the same runs, scored again; non-English average, "
              "and its paired difference from the English-dev selection): "
              + "; ".join(f"{method} {percent(summary['average_non_english'])} "
                          f"({describe(entry['minus_english_dev'][method])})" for method, summary in entry["summary"].items())
              + ". Under this selection, paired by seed: "
              + "; ".join(f"{comparison} {describe(result)}" for comparison, result in entry["paired"].items()) + ".\n")
    oracle = {method: summary for method, summary in report["summary"].items() if "oracle_average_non_english" in summary}
    if oracle:
        def versus(summary):  # files from before the same-language comparison hold the average alone
            if "oracle" not in summary:
                return ""
            entry = summary["oracle"]
            return (f" against English-dev selection's {percent(entry['english_dev_same_languages'])} on the same "
                    f"{len(entry['languages'])} languages, {describe(entry['minus_english_dev'])}")
        print("Target-language dev selection (\"oracle\": per language the epoch best on its own dev set; it uses "
              "target labels a zero-shot user does not have, so it is not the result above), non-English average: "
              + "; ".join(f"{method} {percent(summary['oracle_average_non_english'])}{versus(summary)}"
                          for method, summary in oracle.items()) + ".\n")
    records = report.get("records")
    if records:
        print("Selected epoch and English dev curve per run: " + "; ".join(
            f"{method} seed {seed}: epoch {r['selected_epoch']} of {r['epochs']} "
            f"[{', '.join(f'{100 * v:.1f}' for v in r['dev_curve'])}]"
            for method, by_seed in records.items() for seed, r in by_seed.items()) + ".\n")


def weight_sweep(reports):
    """One row per (α, β): EAPR's accuracy at those weights (files `weights_{protocol}_a{α}_b{β}.json`,
    written by `accuracy.py --methods eapr --alpha α --beta β --out ...`)."""
    reports = sorted(reports, key=lambda r: (r[1]["protocol"], r[1]["settings"]["alpha"], r[1]["settings"]["beta"]))
    for protocol in dict.fromkeys(report["protocol"] for _, report in reports):
        chosen = [report for _, report in reports if report["protocol"] == protocol]
        print(f"Accuracy of EAPR by loss weight, {protocol} protocol ({chosen[0]['date']}; "
              f"{budget(chosen[0]['settings'])}; α weights Embedding-Push, β Attention-Pull; mean ± std over "
              f"the seeds listed):\n")
        english = english_of(chosen[0]["summary"]["eapr"]["per_language"])
        paper = next((r["summary"]["eapr"] for r in chosen
                      if (r["settings"]["alpha"], r["settings"]["beta"]) == PAPER_WEIGHTS), None)
        print(f"| α | β | seeds | {english} | avg non-English | Δ avg non-English vs α = {PAPER_WEIGHTS[0]}, "
              f"β = {PAPER_WEIGHTS[1]}, same seeds |")
        print("|---|---|---|---|---|---|")
        for report in chosen:
            summary = report["summary"]["eapr"]
            print(f"| {report['settings']['alpha']} | {report['settings']['beta']} | "
                  f"{','.join(map(str, summary['seeds']))} | {percent(summary['per_language'][english])} | "
                  f"**{percent(summary['average_non_english'])}** | {paired_delta(summary, paper)} |")
        print()


def paired_delta(summary, reference) -> str:
    """Mean over the seeds both have of (this − reference) non-English average, in points: seeds can
    differ by more than the weights do, so rows with different finished seeds compare only this way."""
    if reference is None or summary is reference:
        return "-"
    mine, theirs = summary["non_english_by_seed"], reference["non_english_by_seed"]
    common = [seed for seed in mine if seed in theirs]
    if not common:
        return "no common seed"
    delta = sum(mine[seed] - theirs[seed] for seed in common) / len(common)
    return f"{100 * delta:+.1f} (seeds {','.join(common)})"


def tables(results: Path) -> None:
    """Accuracy tables first (per protocol), then alignment, the perturbation shift, speed, the
    term-influence sweep, the accuracy-by-weight sweep and the generalized cross-lingual tables."""
    paths = sorted(glob.glob(str(results / "*.json")))
    order = ("accuracy", "alignment", "perturbation_shift", "speed", "term_influence", "weights", "cross_lingual")
    influences, weights, crosses = [], [], []
    for prefix in order:
        chosen = [p for p in paths if Path(p).name.startswith(prefix)]
        if prefix == "accuracy":  # protocols in the order of PROTOCOLS, then any other file
            rank = {f"accuracy_{name}": i for i, name in enumerate(PROTOCOLS)}
            chosen.sort(key=lambda p: rank.get(Path(p).stem, len(rank)))
        for path in chosen:
            data = json.loads(Path(path).read_text())
            if prefix == "accuracy":
                accuracy(path, data)
            elif prefix == "alignment":
                alignment(path, data)
            elif prefix == "perturbation_shift":
                perturbation_shift(path, data)
            elif prefix == "speed":
                speed(data)
            elif prefix == "term_influence":
                influences.append((path, data))
            elif prefix == "weights":
                weights.append((path, data))
            else:
                crosses.append((path, data))
    if influences:
        influence_sweep(influences)
    if weights:
        weight_sweep(weights)
    if crosses:
        cross_lingual(crosses)


def demo(report) -> str:
    """The demo's table with its settings and the honest word on how far it travels."""
    settings = report["settings"]
    return (f"Measured with `make demo` on {report['date']} ({report['machine']}; {report['wall_s'] // 60} min "
            f"in all): {settings['layers']}-layer offline encoder, {settings['epochs']} epochs, seed(s) "
            f"{', '.join(map(str, settings['seeds']))}; accuracy (%) on the test lines of each language:\n\n"
            f"{report['table']}\n"
            f"Majority class (the plot's dashed line): "
            + ", ".join(f"{language} {100 * share:.1f}" for language, share in report["majority_class"].items())
            + ". One seed: differences of a few points are within seed noise. The same command on another "
              "CPU model or BLAS build gives numbers that differ by up to ~2 points per language (CPU kernels "
              "round differently and training amplifies it; up to 1.6 points was seen between two machines), "
              "so read this table as the demo's format and rough size, not as a result to reproduce digit "
              "for digit. The baseline makes a third of the updates of RS-DA and EAPR (no perturbed "
              "copies); RS-DA makes as many as EAPR and is the like-for-like comparison.\n")


def replace_block(readme: Path, text: str, name: str = "results") -> None:
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    content = readme.read_text(encoding="utf-8")
    if content.count(start) != 1 or content.count(end) != 1:
        raise SystemExit(f"{readme}: needs exactly one {start} and one {end} line")
    head, rest = content.split(start)
    _, tail = rest.split(end)
    readme.write_text(f"{head}{start}\n\n{text.strip()}\n\n{end}{tail}", encoding="utf-8")


def readme_accuracy_reports(reports):
    """The accuracy reports the README shows: the equal-steps comparisons, not the `--oracle` reruns
    (docs/benchmarks.md has every table)."""
    return {path: r for path, r in reports.items()
            if r["settings"].get("budget") == "equal-steps" and not r["settings"].get("oracle")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].strip())
    parser.add_argument("results", nargs="?", default=str(Path(__file__).parent / "results"))
    parser.add_argument("--benchmarks", default=None, help="also write the tables into this file")
    parser.add_argument("--readme", default=None, help="also write the demo's table into this README")
    args = parser.parse_args()
    if args.benchmarks or not args.readme:
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            tables(Path(args.results))
        print(buffer.getvalue())
        if args.benchmarks:
            replace_block(Path(args.benchmarks), buffer.getvalue())
    demo_file = Path(args.results) / "demo.json"
    speed_files = sorted(Path(args.results).glob("speed*.json"), key=lambda path: (path.stem != "speed", path.stem))
    if args.readme:
        if not demo_file.exists():
            raise SystemExit(f"{demo_file} is missing: run `make demo` and copy runs/demo/results.json there")
        replace_block(Path(args.readme), demo(json.loads(demo_file.read_text())), "demo")
        reports = {path: json.loads(path.read_text()) for path in sorted(Path(args.results).glob("accuracy_*.json"))}
        equal_steps = readme_accuracy_reports(reports)
        if equal_steps and "<!-- accuracy:start -->" in Path(args.readme).read_text(encoding="utf-8"):
            buffer = io.StringIO()  # the equal-steps comparisons (every other table: docs/benchmarks.md)
            with contextlib.redirect_stdout(buffer):
                for path, report in equal_steps.items():
                    accuracy(str(path), report)
            replace_block(Path(args.readme), buffer.getvalue(), "accuracy")
        if speed_files:  # the CPU table (speed.json) first, then each GPU run's (speed_cuda_*.json)
            buffer = io.StringIO()
            with contextlib.redirect_stdout(buffer):
                for speed_file in speed_files:
                    speed(json.loads(speed_file.read_text()))
            replace_block(Path(args.readme), buffer.getvalue(), "speed")


if __name__ == "__main__":
    main()
