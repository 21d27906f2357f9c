"""
The `EAPR_*` extVars read by `training_configs/*.jsonnet`, and their validation.

Jsonnet cannot test whether an extVar exists, and AllenNLP passes the process environment to
jsonnet as extVars. So that a user can run `allennlp train training_configs/xnli_eapr.jsonnet`
without setting anything, importing the plugin registers each name below with an empty value
(only where it is unset); the configs read an empty value as "use the default", and the defaults
themselves live in `training_configs/eapr.libsonnet`, next to the settings they control.

Each value a user sets is checked here, where it enters, against its kind (a number in a range,
true/false, a name from a component's own list), so a typo fails with the variable's name instead
of a jsonnet parse position. Choices among the recipe's names (task, method, head, perturber) are
checked by the recipe itself, which holds those lists.
"""
import json
import math
import os
from typing import Any, Dict, Optional, Tuple

from allennlp.common.checks import ConfigurationError

from eapr_plugin.losses.prediction_consistency import PredictionConsistency

# name -> (kind, lowest allowed value) for kind "int", "float" or "bool"; ("choice", allowed names);
# None: free text
KINDS: Dict[str, Optional[Tuple[str, Any]]] = {
    "EAPR_TASK": None,
    "EAPR_METHOD": None,
    "EAPR_ENCODER": None,
    "EAPR_HEAD": None,
    "EAPR_TRAIN_DATA": None,
    "EAPR_DEV_DATA": None,
    "EAPR_TRAIN_START": ("int", 0),
    "EAPR_TRAIN_END": ("int", 0),
    "EAPR_DEV_START": ("int", 0),
    "EAPR_DEV_END": ("int", 0),
    "EAPR_SYNONYMS": None,
    "EAPR_PERTURBER": None,
    "EAPR_SHARED_PAIR_SWAPS": ("bool", 0),
    "EAPR_SAMPLING_ALPHA": ("float", 0),
    "EAPR_SAMPLING_DROPOUT": ("float", 0),
    "EAPR_NUM_PERTURBATIONS": ("int", 1),
    "EAPR_ALPHA": ("float", 0),
    "EAPR_BETA": ("float", 0),
    "EAPR_LAYER": ("int", 0),
    "EAPR_PC_WEIGHT": ("float", 0),
    "EAPR_PC_TEMPERATURE": ("float", 0),
    "EAPR_PC_TARGET": ("choice", PredictionConsistency.targets),
    "EAPR_PERTURBED_CE_WEIGHT": ("float", 0),
    "EAPR_BALANCE": None,
    "EAPR_BALANCE_BATCHES": ("int", 1),
    "EAPR_RAMP_UP": None,
    "EAPR_FREEZE": None,
    "EAPR_AP_MODE": None,
    "EAPR_MAX_LENGTH": ("int", 1),
    "EAPR_LR": ("float", 0),
    "EAPR_LAYER_LR_DECAY": ("float", 0),
    "EAPR_BATCH_SIZE": ("int", 1),
    "EAPR_GRAD_ACCUM": ("int", 1),
    "EAPR_EPOCHS": ("int", 1),
    "EAPR_SEED": ("int", 0),
    "EAPR_SELECTION": None,
    "EAPR_AVERAGE_LAST": ("int", 1),
    "EAPR_EPOCH_EVAL": None,
    "EAPR_AMP": ("bool", 0),
    "EAPR_BUCKET": ("bool", 0),
    "EAPR_NUM_GPUS": ("int", 0),
    "EAPR_CPU_WORKERS": ("int", 0),
    "EAPR_FIND_UNUSED": ("bool", 0),
}
EXT_VARS = tuple(KINDS)
POSITIVE = ("EAPR_LR", "EAPR_LAYER_LR_DECAY")  # numbers that must be > 0, not just >= 0
HIGHEST = {"EAPR_LAYER_LR_DECAY": 1}  # numbers with an upper bound: name -> the highest allowed value


def check_setting(name: str, value: str) -> None:
    """Raise a `ConfigurationError` naming `name` unless `value` is empty or of its kind."""
    kind = KINDS.get(name)
    if kind is None or value == "":
        return
    expected, lowest = kind
    if expected == "choice":
        if value not in lowest:
            raise ConfigurationError(f"{name}={value!r}: expected one of {', '.join(lowest)}")
        return
    if expected == "bool":
        if value not in ("true", "false"):
            raise ConfigurationError(f"{name}={value!r}: expected true or false")
        return
    try:
        number = json.loads(value)
    except json.JSONDecodeError:
        number = None
    if isinstance(number, bool) or not isinstance(number, (int, float)) or not math.isfinite(number):
        raise ConfigurationError(f"{name}={value!r}: expected {'an integer' if expected == 'int' else 'a number'}")
    if expected == "int" and not isinstance(number, int):
        raise ConfigurationError(f"{name}={value!r}: expected an integer")
    if number < lowest or (name in POSITIVE and number == 0):
        bound = "> 0" if name in POSITIVE else f">= {lowest}"
        raise ConfigurationError(f"{name}={value!r}: must be {bound}")
    if name in HIGHEST and number > HIGHEST[name]:
        raise ConfigurationError(f"{name}={value!r}: must be <= {HIGHEST[name]}")


def register_ext_var_defaults() -> None:
    for name in EXT_VARS:
        os.environ.setdefault(name, "")
        check_setting(name, os.environ[name])
