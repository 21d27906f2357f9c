"""
A tiny round trip of the real recipe (`training_configs/xnli_eapr.jsonnet`) on the randomly
initialised offline test encoder: train → evaluate-languages → predict. It shows the pipeline runs
end to end in under a minute; its accuracies are those of a random tiny model on toy labels and
mean nothing. (The offline-encoder demo on a real task is tracked separately.)
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

from eapr_plugin.testing.fixtures import tiny_ext_vars, write_pair_task, write_synonym_table
from eapr_plugin.testing.tiny_encoders import build_tiny_encoders

REPO = Path(__file__).resolve().parents[1]


def allennlp(*args, env=None):
    print("+ allennlp", " ".join(args), flush=True)
    subprocess.run([sys.executable, "-m", "allennlp", *args], cwd=REPO, check=True,
                   env={**os.environ, **(env or {})})


def main() -> None:
    out = REPO / "runs" / "tiny_demo"
    shutil.rmtree(out, ignore_errors=True)
    encoders = build_tiny_encoders(str(REPO / "tests" / "fixtures" / "build"))
    files = write_pair_task(str(out / "data"))
    synonyms = write_synonym_table(str(out / "data" / "synonyms.json"))
    env = tiny_ext_vars(encoders["tiny-bert"], files["en"], files["en"], synonyms)
    allennlp("train", "training_configs/xnli_eapr.jsonnet", "-s", str(out / "model"), env=env)
    allennlp("evaluate-languages", str(out / "model" / "model.tar.gz"), str(out / "data"),
             "--output-dir", str(out / "languages"))
    print(f"results: {out / 'languages'} (metrics.json, results.md, accuracy.png)")


if __name__ == "__main__":
    main()
