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


def influence(path, report):
    s = report["settings"]
    print(f"Term influence ({Path(path).name}: α = {s['alpha']}, β = {s['beta']}; gradient norm on the encoder, "
          f"weighted, ÷ the task CE's; start → after {s['steps']} steps):\n")
    print("| term | start | end |")
    print("|---|---|---|")
    for key in report["ratio_to_task_start"]:
        print(f"| {key} | {report['ratio_to_task_start'][key]:.3g} | {report['ratio_to_task_end'][key]:.3g} |")
    print()


for path in sorted(glob.glob(str(RESULTS / "*.json"))):
    data = json.loads(Path(path).read_text())
    name = Path(path).name
    if name.startswith("speed"):
        speed(data)
    elif name.startswith("alignment"):
        alignment(data)
    elif name.startswith("term_influence"):
        influence(path, data)
    elif name.startswith("accuracy"):
        print(f"Accuracy, {data['protocol']} ({data['date']}; {len(data['settings']['seeds'])} seeds; "
              f"{data['wall_s'] / 60:.0f} min):\n")
        print(Path(path).with_suffix(".md").read_text())
