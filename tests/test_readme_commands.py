"""
The README's "Train, evaluate, predict" commands, extracted from the README itself and run as
written (bash, the venv's `allennlp`) in a folder laid out like a `make demo` run, with the tiny
encoder and a tiny task in the demo's layout standing in for the real ones.
"""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from eapr_plugin.dataset_readers.sib200 import SIB200_HEADER
from scripts.recipe import recipe_params
from tests.support.cli import OFFLINE, REPO
from tests.support.tasks import corpus_by_language

pytestmark = pytest.mark.slow


def readme_block(heading: str) -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text[text.index(heading):]
    return re.search(r"```bash\n(.*?)```", section, re.S).group(1)


def commands(block: str):
    """Shell commands of a block: comment lines dropped, continuation lines joined."""
    joined = re.sub(r"\\\n\s*", " ", block)
    return [line.strip() for line in joined.splitlines() if line.strip() and not line.strip().startswith("#")]


def test_train_evaluate_predict_commands_of_the_readme(tiny_encoders, synonym_table, tmp_path):
    demo = tmp_path / "runs" / "demo"
    shutil.copytree(tiny_encoders["tiny-bert"], demo / "encoder-6l")
    shutil.copy(synonym_table, demo / "wordnet_synonyms.json")
    labels = recipe_params(EAPR_TASK="chatterbot").as_dict()["dataset_reader"]["labels"]  # the recipe's labels
    corpus = corpus_by_language()
    for language, splits in (("en", ("train", "dev", "test")), ("it", ("test",))):
        for split in splits:
            path = demo / "data" / language / f"{split}.tsv"
            path.parent.mkdir(parents=True, exist_ok=True)
            rows = [f"{i}\t{labels[i % len(labels)]}\t{s}" for i, s in enumerate(corpus[language if language in corpus else "fr"])]
            path.write_text("\n".join([SIB200_HEADER] + rows) + "\n", encoding="utf-8")
    os.symlink(REPO / "training_configs", tmp_path / "training_configs")
    shutil.copy(REPO / ".allennlp_plugins", tmp_path / ".allennlp_plugins")
    env = {**os.environ, **OFFLINE, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}

    steps = commands(readme_block("## Train, evaluate, predict"))
    assert steps[0].startswith("EAPR_TASK=chatterbot") and "allennlp train" in steps[0]
    for index, step in enumerate(steps):
        if index == 1:  # what `make demo` leaves: the trained EAPR archive under runs/demo/eapr_seed7
            os.symlink(tmp_path / "runs" / "my_eapr", demo / "eapr_seed7")
        result = subprocess.run(["bash", "-c", step], cwd=tmp_path, env=env, capture_output=True, text=True,
                                timeout=600)
        assert result.returncode == 0, f"README command failed: {step}\n{result.stderr[-3000:]}"
    assert (demo / "eapr_languages" / "results.md").read_text().splitlines()[0].startswith("| model | en | it |")
    prediction = (tmp_path / "predictions.jsonl").read_text()
    assert '"label": ' in prediction and any(f'"label": "{label}"' in prediction for label in labels)
