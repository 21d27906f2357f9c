"""Print the README's results tables (markdown) from the JSON files under benchmarks/results/."""
import glob
import json
import sys
from pathlib import Path

RESULTS = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent / "results")


def speed(report):
    s = report["settings"]
    print(f"Speed and memory ({report['date']}; {report['machine']}; torch {report['versions']['torch']}, "
          f"transformers {report['versions']['transformers']}, allennlp {report['versions']['allennlp']}; "
          f"batch {s['batch_size']} pairs × max length {s['max_length']}, median of {s['steps']} interleaved steps):\n")
    print("| variant | median step (s) | ÷ plain | peak memory (MB) |")
    print("|---|---|---|---|")
    plain = report["median_step_s"]["plain"]
    for name, value in report["median_step_s"].items():
        print(f"| {name} | {value:.2f} | {value / plain:.2f} | {report['peak_memory_mb'][name]:.0f} |")
    loop = report["trainer_vs_bare_loop"]
    print(f"\n`eapr_over_plain_step_time` = **{report['eapr_over_plain_step_time']:.2f}**; exact ÷ masked "
          f"Attention-Pull = {report['exact_over_masked_step_time']:.2f}; all-layer ÷ one-layer attention "
          f"capture = {report['all_layers_over_one_layer_step_time']:.2f}; AllenNLP trainer ÷ bare torch loop "
          f"= {loop['allennlp_over_bare']:.2f} ({loop['allennlp_trainer_step_s']:.2f} s vs {loop['bare_torch_step_s']:.2f} s per EAPR step).\n")


def alignment(report):
    print(f"Alignment ({report['date']}; {report['sentences']} parallel sentences per language):\n")
    print("| model | mean retrieval accuracy (vs English) | mean centroid distance to English |")
    print("|---|---|---|")
    for name, result in report["results"].items():
        print(f"| {name} | {100 * result['mean_retrieval_accuracy']:.1f} | {result['mean_centroid_distance']:.4f} |")
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


def accuracy(path, report):
    """A compact table (a few languages + averages); the full one is the .md beside the JSON."""
    s = report["settings"]
    print(f"Accuracy, {report['protocol']} protocol ({report['date']}; {s['epochs']} epochs, lr {s['lr']}, "
          f"batch {s['batch_size']}, max length {s['max_length']}, head {s['head']}; mean ± std over the "
          f"seeds listed; full table: `{Path(path).with_suffix('.md').name}`):\n")
    first = next(iter(report["summary"].values()))["per_language"]
    english = next(l for l in first if l in ("en", "eng_Latn"))
    shown = [english] + [l for l in ("deu_Latn", "zho_Hans", "swh_Latn", "yor_Latn", "de", "zh", "ja", "sw")
                         if l in first]
    print("| method | seeds | " + " | ".join(shown) + " | avg non-English |")
    print("|---|---|" + "---|" * len(shown) + "---|")
    for method, summary in report["summary"].items():
        cells = [f"{100 * summary['per_language'][l]['mean']:.1f} ± {100 * summary['per_language'][l]['std']:.1f}"
                 for l in shown]
        avg = summary["average_non_english"]
        print(f"| {method} | {','.join(map(str, summary['seeds']))} | " + " | ".join(cells)
              + f" | **{100 * avg['mean']:.1f} ± {100 * avg['std']:.1f}** |")
    print()


influences = []
for path in sorted(glob.glob(str(RESULTS / "*.json"))):
    data = json.loads(Path(path).read_text())
    name = Path(path).name
    if name.startswith("speed"):
        speed(data)
    elif name.startswith("alignment"):
        alignment(data)
    elif name.startswith("term_influence"):
        influences.append((path, data))
    elif name.startswith("accuracy"):
        accuracy(path, data)
if influences:
    influence_sweep(influences)
