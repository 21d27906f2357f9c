"""
`allennlp train` with one of this plugin's configs checks every input the config names before
AllenNLP builds anything: the encoder, the synonym table, the training and validation data, and
the run folder. All problems are reported together, each with the `EAPR_*` setting to change,
instead of one per run after a minute of Hub retries.

AllenNLP offers no hook before it builds a config's objects, so the check runs when the plugin is
imported by the `allennlp train` command line (the main process only; distributed workers and
library use skip it).
"""
import argparse
import logging
import multiprocessing
import os
from typing import List, Optional, Sequence

from allennlp.common.checks import ConfigurationError
from transformers.utils import is_offline_mode

logger = logging.getLogger(__name__)

#: config location -> the recipe's setting for it
SETTINGS = {
    "encoder": "EAPR_ENCODER",
    "synonyms": "EAPR_SYNONYMS",
    "train_data_path": "EAPR_TRAIN_DATA",
    "validation_data_path": "EAPR_DEV_DATA",
}


def _is_url(value: str) -> bool:
    return value.startswith(("http://", "https://", "s3://", "gs://"))


def _looks_like_path(value: str) -> bool:
    return os.path.isabs(value) or value.startswith((".", "~")) or os.path.exists(value)


def encoder_problem(name: str) -> Optional[str]:
    if os.path.isdir(name):
        return None if os.path.isfile(os.path.join(name, "config.json")) else \
            f"{SETTINGS['encoder']}={name}: the folder holds no config.json (not a Hugging Face model folder)"
    if _looks_like_path(name):
        return f"{SETTINGS['encoder']}={name}: no such folder"
    if is_offline_mode():
        from huggingface_hub import try_to_load_from_cache

        if not isinstance(try_to_load_from_cache(name, "config.json"), str):
            return (f"{SETTINGS['encoder']}={name}: not a local folder and not in the Hugging Face cache, and the "
                    "Hub is disabled (HF_HUB_OFFLINE=1): give a local folder (python scripts/offline_encoder.py DIR) "
                    "or go online once to cache it")
    return None


def file_problem(setting: str, value: str) -> Optional[str]:
    from eapr_plugin.dataset_readers.hf_datasets import is_hf_path

    if is_hf_path(value):
        if value.startswith("hf-disk:") and not os.path.exists(value[len("hf-disk:"):].split(":")[0]):
            return f"{setting}={value}: no such saved dataset folder"
        return None  # Hub datasets: `datasets` reports its own cache / network state
    if _is_url(value):
        return (f"{setting}={value}: a URL, and this machine is offline (HF_HUB_OFFLINE=1): download it "
                "and give the local file") if is_offline_mode() else None
    return None if os.path.exists(value) else f"{setting}={value}: no such file"


def run_folder_problem(folder: str, recover: bool, force: bool) -> Optional[str]:
    if recover or force or not os.path.isdir(folder) or not os.listdir(folder):
        return None
    names = os.listdir(folder)
    if any(n.startswith(("model_state", "training_state", "best.th")) or n == "model.tar.gz" for n in names):
        return None  # a run with checkpoints: AllenNLP says that --recover continues it
    return (f"-s {folder}: the folder holds a run that stopped before its first checkpoint, so there is "
            "nothing to --recover: rerun with --force (it deletes the folder) or choose another -s")


def problems(config: dict, run_folder: Optional[str], recover: bool, force: bool) -> List[str]:
    found: List[Optional[str]] = []
    embedder = config.get("model", {}).get("text_field_embedder", {}).get("token_embedders", {}).get("tokens", {})
    if embedder.get("model_name"):
        found.append(encoder_problem(embedder["model_name"]))
    perturber = config.get("dataset_reader", {}).get("perturber") or {}
    for part in perturber.get("perturbers", [perturber]):  # a chain, or one perturber
        if part.get("table"):
            found.append(file_problem(SETTINGS["synonyms"], part["table"]))
    for key in ("train_data_path", "validation_data_path"):
        if config.get(key):
            found.append(file_problem(SETTINGS[key], config[key]))
    if run_folder:
        found.append(run_folder_problem(run_folder, recover, force))
    return [problem for problem in found if problem]


def preflight_train(argv: Sequence[str]) -> None:
    """Check the inputs of `allennlp train CONFIG ...` (argv without the program name)."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("param_path")
    parser.add_argument("-s", "--serialization-dir")
    parser.add_argument("-o", "--overrides", default="")
    parser.add_argument("-r", "--recover", action="store_true")
    parser.add_argument("-f", "--force", action="store_true")
    args, _ = parser.parse_known_args(argv)
    from allennlp.common import Params

    try:
        config = Params.from_file(args.param_path, args.overrides).as_dict(quiet=True)
    except Exception:  # noqa: BLE001  (AllenNLP reports a config it cannot read, in its own words)
        return
    if config.get("model", {}).get("type") != "eapr_classifier":
        return
    found = problems(config, args.serialization_dir, args.recover, args.force)
    if found:
        raise ConfigurationError(
            f"allennlp train {args.param_path}: {len(found)} input(s) cannot be used, nothing was started:\n"
            + "\n".join(f"  - {problem}" for problem in found)
        )


def preflight_from_command_line(argv: Sequence[str]) -> None:
    """Run `preflight_train` when this process is the `allennlp train` command line itself."""
    program = os.path.basename(argv[0]) if argv else ""
    if (program in ("allennlp", "__main__.py") and len(argv) > 2 and argv[1] == "train"
            and multiprocessing.current_process().name == "MainProcess"):
        preflight_train(argv[2:])
