"""
`make demo` (until the offline-encoder demo lands): a tiny EAPR train → evaluate → predict round
trip on the randomly initialised offline test encoder, to show the pipeline runs end to end.
The accuracies it prints are those of a random tiny model on toy labels: they mean nothing.
"""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from eapr_plugin.testing.fixtures import write_pair_task, write_synonym_table
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
    ext_vars = {"encoder": encoders["tiny-bert"], "train_data": files["en"],
                "dev_data": files["de"], "synonyms": synonyms}
    allennlp("train", "tests/fixtures/tiny_eapr.jsonnet", "-s", str(out / "model"), env=ext_vars)
    languages = sorted(files)
    outputs = [str(out / f"eval-{language}.json") for language in languages]
    allennlp("evaluate", str(out / "model" / "model.tar.gz"),
             ",".join(files[language] for language in languages), "--output-file", ",".join(outputs))
    print("\nlanguage  accuracy")
    for language, output in zip(languages, outputs):
        print(f"{language:8}  {json.loads(Path(output).read_text())['accuracy']:.3f}")


if __name__ == "__main__":
    main()
