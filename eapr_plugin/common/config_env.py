"""
The `EAPR_*` extVars read by `training_configs/*.jsonnet`.

Jsonnet cannot test whether an extVar exists, and AllenNLP passes the process environment to
jsonnet as extVars. So that a user can run `allennlp train training_configs/xnli_eapr.jsonnet`
without setting anything, importing the plugin registers each name below with an empty value
(only where it is unset); the configs read an empty value as "use the default", and the defaults
themselves live in `training_configs/eapr.libsonnet`, next to the settings they control.
"""
import os

EXT_VARS = (
    "EAPR_TASK",
    "EAPR_METHOD",
    "EAPR_ENCODER",
    "EAPR_HEAD",
    "EAPR_TRAIN_DATA",
    "EAPR_DEV_DATA",
    "EAPR_TRAIN_START",
    "EAPR_TRAIN_END",
    "EAPR_DEV_START",
    "EAPR_DEV_END",
    "EAPR_SYNONYMS",
    "EAPR_NUM_PERTURBATIONS",
    "EAPR_ALPHA",
    "EAPR_BETA",
    "EAPR_LAYER",
    "EAPR_AP_MODE",
    "EAPR_MAX_LENGTH",
    "EAPR_LR",
    "EAPR_BATCH_SIZE",
    "EAPR_GRAD_ACCUM",
    "EAPR_EPOCHS",
    "EAPR_SEED",
    "EAPR_AMP",
    "EAPR_NUM_GPUS",
    "EAPR_CPU_WORKERS",
    "EAPR_FIND_UNUSED",
)


def register_ext_var_defaults() -> None:
    for name in EXT_VARS:
        os.environ.setdefault(name, "")
