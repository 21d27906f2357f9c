"""
What `allennlp train training_configs/CONFIG.jsonnet` builds, from Python: the recipe's `Params`
for given `EAPR_*` settings, and its model or reader alone. Benchmarks and tests build through
this, so they measure and test the loss terms, heads and readers that users run; the loss-term
list and every default live only in `training_configs/eapr.libsonnet`.

    from scripts.recipe import recipe_params
    params = recipe_params(EAPR_TASK="xnli", EAPR_METHOD="eapr", EAPR_ENCODER=folder, ...)
"""
from pathlib import Path
from typing import Optional

from allennlp.common import Params
from allennlp.data import DatasetReader, Vocabulary
from allennlp.models import Model

import eapr_plugin  # noqa: F401  (registers the components)
from eapr_plugin.common.config_env import EXT_VARS

RECIPES = Path(__file__).resolve().parents[1] / "training_configs"


def recipe_params(config: str = "experiment.jsonnet", **settings: str) -> Params:
    """The recipe `training_configs/{config}` with these `EAPR_*` settings and every other one at its
    default (the process environment is ignored, so a stray `EAPR_*` variable cannot leak in)."""
    unknown = set(settings) - set(EXT_VARS)
    if unknown:
        raise ValueError(f"unknown recipe settings {sorted(unknown)}; known: {EXT_VARS}")
    ext_vars = {name: "" for name in EXT_VARS}
    ext_vars.update({name: str(value) for name, value in settings.items()})
    return Params.from_file(str(RECIPES / config), ext_vars=ext_vars)


def build_reader(params: Params, key: str = "dataset_reader") -> DatasetReader:
    return DatasetReader.from_params(params.get(key).duplicate())


def build_model(params: Params, vocab: Optional[Vocabulary] = None) -> Model:
    """The recipe's model over `vocab` (default: the task's labels read from the reader's label set)."""
    if vocab is None:
        reader = build_reader(params, "validation_dataset_reader")
        vocab = Vocabulary()
        vocab.add_tokens_to_namespace(list(reader._labels), "labels")
    return Model.from_params(vocab=vocab, params=params.get("model").duplicate())
