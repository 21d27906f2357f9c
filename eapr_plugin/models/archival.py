"""
Archives that travel: a `model.tar.gz` trained on one machine loads and predicts on another where
only the encoder's name (or nothing at all) is available.

At training time the recipe's `eapr_encoder_files` callback writes the encoder's configuration and
tokenizer files (a few MB, no weights) into the run folder's `encoder/`, and the recipe's
`include_in_archive` puts that folder into the archive; the archive's `weights.th` already holds
every encoder weight. `load_archive` here then loads such an archive with the encoder taken from,
in this order:

1. `EAPR_ENCODER`, when set (a local folder or a Hub name: the documented override);
2. the name the run was trained with, when it still resolves here (a Hub name, or a folder that
   exists);
3. the archive's own `encoder/` copy (an absolute training-machine path that does not exist here).

It never loads the pretrained weights again (`load_weights: false`: the archive's weights replace
them), and it never opens what only training needs (the synonym table is opened at the first
perturbation, the training data paths are not read). A local archive is read once before
AllenNLP extracts it; an empty or truncated one is named as such (`opened_archive`). AllenNLP's
`evaluate` and `predict` and this plugin's `evaluate-languages` load archives through it.

An archive can also be whole and still hold an unfinished run: `allennlp train` archives the best
epoch so far when training is interrupted (Ctrl-C, SIGTERM). The recipes' `eapr_run_record`
callback writes `run_status.json` (finished or not, epochs and optimizer steps) and
`run_record.jsonl` (the dev curve), which the recipes' `include_in_archive` puts into a finished
run's archive (AllenNLP leaves them out of an interrupted run's); `archived_run` reads them back,
`load_archive` warns when the run did not finish, and `evaluate-languages` refuses such an archive
unless told `--allow-unfinished` (`load_run_archive`, `check_finished`). Archives without these
files (configs that leave the callback out, archives of older versions) carry no status, and
nothing is said of them.
"""
import atexit
import json
import logging
import os
import shutil
import tarfile
import tempfile
import zlib
from contextlib import contextmanager
from typing import Any, Dict, Iterator, Optional, Tuple, Union

from allennlp.common.checks import ConfigurationError

from allennlp.models.archival import CONFIG_NAME, Archive
from allennlp.models.archival import load_archive as allennlp_load_archive

logger = logging.getLogger(__name__)

ENCODER_FOLDER = "encoder"
RUN_STATUS = "run_status.json"
RUN_RECORD = "run_record.jsonl"
EMBEDDER_KEYS = ("model", "text_field_embedder", "token_embedders", "tokens")


@contextmanager
def opened_archive(archive_file: str) -> Iterator[Optional[tarfile.TarFile]]:
    """
    A local archive opened once, its member list read (which reads the whole file), so that an
    empty or truncated `model.tar.gz` (a run killed while AllenNLP wrote it) is named as such, with
    the command that rebuilds it. Yields None for anything that is not a local file (URLs, missing
    paths: AllenNLP's own message).
    """
    if not os.path.isfile(archive_file):
        yield None
        return
    try:
        archive = tarfile.open(archive_file)
        archive.getmembers()
    except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
        raise ConfigurationError(
            f"{archive_file} is incomplete ({os.path.getsize(archive_file)} bytes; {type(error).__name__}: "
            f"{' '.join(str(error).split())}): a run killed while archiving leaves it so. `allennlp train CONFIG -s "
            f"{os.path.dirname(archive_file) or '.'} --recover` finishes the run and writes the archive again"
        ) from error
    with archive:
        yield archive


def check_archive(archive_file: str) -> None:
    """Fail with `opened_archive`'s message when a local archive is empty or truncated."""
    with opened_archive(archive_file):
        pass


def archived_config(archive: tarfile.TarFile) -> Optional[Dict[str, Any]]:
    """The `config.json` inside an opened archive (None when it has none)."""
    try:
        member = archive.extractfile(CONFIG_NAME)
    except KeyError:
        return None
    return json.loads(member.read().decode("utf-8")) if member is not None else None


def archived_run(archive: tarfile.TarFile, archive_file: str) -> Optional[Dict[str, Any]]:
    """
    What an opened archive says of its training run: `run_status.json` (`finished`, `stopped_by`,
    `epochs_completed`, `num_epochs`, `optimizer_steps`) with the English dev curve of
    `run_record.jsonl` as `dev_curve` (one `validation_accuracy` per epoch); None when the archive
    neither holds a status nor was configured to.

    AllenNLP 2.10 archives an interrupted (single-process) run without the config's
    `include_in_archive` files. An archive whose own config lists `run_status.json` but which lacks
    it is therefore an interrupted run's: its status is read from the run folder beside the archive
    where that still exists, and is `finished: false` in any case.
    """
    names = set(archive.getnames())

    def member(name: str) -> Optional[str]:
        return archive.extractfile(name).read().decode("utf-8") if name in names else None

    run = _run_from(member)
    if run is not None:
        return run
    config = archived_config(archive) or {}
    if RUN_STATUS not in (config.get("include_in_archive") or []):
        return None
    folder = os.path.dirname(os.path.abspath(archive_file))

    def beside(name: str) -> Optional[str]:
        path = os.path.join(folder, name)
        return open(path, encoding="utf-8").read() if os.path.isfile(path) else None

    run = _run_from(beside) or {"stopped_by": None, "epochs_completed": None, "num_epochs": None,
                                "optimizer_steps": None}
    return {**run, "finished": False,
            "archive_lacks": [name for name in config["include_in_archive"] if name not in names and
                              not any(n.startswith(name + "/") for n in names)]}


def _run_from(read) -> Optional[Dict[str, Any]]:
    """`run_status.json` and the dev curve of `run_record.jsonl`, each read by `read(name)` (text or None)."""
    status = read(RUN_STATUS)
    if status is None:
        return None
    run = json.loads(status)
    record = read(RUN_RECORD)
    if record is not None:
        run["dev_curve"] = [json.loads(line).get("validation_accuracy") for line in record.splitlines() if line.strip()]
    return run


def unfinished(archive_file: str, run: Optional[Dict[str, Any]]) -> Optional[str]:
    """A sentence naming the archive as an unfinished run's, with how far it got and how to finish
    it; None for a finished run or an archive without a status."""
    if run is None or run.get("finished"):
        return None
    stopped = f" by {run['stopped_by']}" if run.get("stopped_by") else ""
    progress = (f" after {run['epochs_completed']} of {run['num_epochs']} epochs ({run['optimizer_steps']} "
                f"optimizer steps)" if run.get("num_epochs") is not None else " before its last epoch")
    return (f"{archive_file} holds an unfinished run: training was stopped{stopped}{progress}, and AllenNLP "
            f"archived the best epoch so far, not the configured selection. `allennlp train CONFIG -s "
            f"{os.path.dirname(archive_file) or '.'} --recover` finishes the run and writes the archive again")


def refuse_unfinished(message: str, escape: Optional[str]) -> ConfigurationError:
    """The error for an unfinished run's archive (`unfinished`'s message), naming the command's
    `escape` option where it has one."""
    return ConfigurationError(message + (f"; or pass {escape} to score it as it is (its results then say it "
                                         "is unfinished)" if escape else ""))


def check_finished(archive_file: str, allow_unfinished: bool = False,
                   escape: Optional[str] = "--allow-unfinished") -> Optional[Dict[str, Any]]:
    """The archive's run (`archived_run`; None without a status), without loading the archive (to
    check many before loading any). An unfinished run's archive fails (`refuse_unfinished`), or with
    `allow_unfinished` passes (and `load_run_archive` warns when it loads it)."""
    with opened_archive(archive_file) as archive:
        run = archived_run(archive, archive_file) if archive is not None else None
    message = unfinished(archive_file, run)
    if message and not allow_unfinished:
        raise refuse_unfinished(message, escape)
    return run


def _resolvable(name: str) -> bool:
    """A folder that exists here, or something that is not a filesystem path (a Hub name)."""
    return os.path.isdir(name) or not (os.path.isabs(name) or name.startswith((".", "~")))


def _extract_encoder(archive: tarfile.TarFile) -> Optional[str]:
    members = [m for m in archive.getmembers() if m.name.startswith(ENCODER_FOLDER + "/") and m.isfile()]
    if not members:
        return None
    folder = tempfile.mkdtemp(prefix="eapr-encoder-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    for member in members:
        member.name = os.path.basename(member.name)
        archive.extract(member, folder)
    return folder


def _paths_of(value: Any, target: str, prefix: str = "") -> Dict[str, Any]:
    """Dotted config paths (AllenNLP's override syntax) of every string equal to `target`."""
    found: Dict[str, Any] = {}
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        path = f"{prefix}{key}"
        if item == target:
            found[path] = item
        else:
            found.update(_paths_of(item, target, path + "."))
    return found


def _overrides(archive_file: str, archive: tarfile.TarFile) -> Dict[str, Any]:
    """The overrides (dotted paths) that load this opened archive without the training machine's encoder."""
    config = archived_config(archive)
    if config is None or config.get("model", {}).get("type") != "eapr_classifier":
        return {}
    embedder = config
    for key in EMBEDDER_KEYS:
        embedder = embedder.get(key, {})
    trained_with = embedder.get("model_name")
    if not trained_with:
        return {}
    encoder = os.environ.get("EAPR_ENCODER") or None
    if encoder is None and not _resolvable(trained_with):
        encoder = _extract_encoder(archive)
        if encoder is None:
            logger.warning("%s names the encoder %r, which does not exist here, and holds no %s/ copy; "
                           "set EAPR_ENCODER to a folder or Hub name of that encoder", archive_file,
                           trained_with, ENCODER_FOLDER)
    overrides: Dict[str, Any] = {}
    if encoder is not None and encoder != trained_with:
        logger.info("loading %s with the encoder %s (trained with %s)", archive_file, encoder, trained_with)
        overrides = {path: encoder for path in _paths_of(config, trained_with)}
    overrides[".".join(EMBEDDER_KEYS + ("load_weights",))] = False  # the archive's weights replace them
    return overrides


def load_run_archive(archive_file: Union[str, os.PathLike], cuda_device: int = -1,
                     overrides: Union[str, Dict[str, Any]] = "", weights_file: Optional[str] = None,
                     allow_unfinished: bool = True, escape: Optional[str] = "--allow-unfinished"
                     ) -> Tuple[Archive, Optional[Dict[str, Any]]]:
    """AllenNLP's `load_archive`, with the encoder resolved as the module docstring says (the caller's
    own `overrides` win over the computed ones), and the archive's run (`archived_run`), from one
    read of the archive. An unfinished run's archive fails unless `allow_unfinished`
    (`refuse_unfinished`), and is loaded with a warning if it is allowed."""
    from allennlp.common.params import parse_overrides

    user = parse_overrides(overrides) if isinstance(overrides, str) else dict(overrides)
    with opened_archive(str(archive_file)) as archive:  # read once: checked, overrides, run status
        found = _overrides(str(archive_file), archive) if archive is not None else {}
        run = archived_run(archive, str(archive_file)) if archive is not None else None
    message = unfinished(str(archive_file), run)
    if message and not allow_unfinished:
        raise refuse_unfinished(message, escape)
    if message:
        logger.warning("UNFINISHED RUN: %s", message)
    computed = {key: value for key, value in found.items()
                if not any(key == mine or key.startswith(mine + ".") for mine in user)}
    merged = {**computed, **user}
    return allennlp_load_archive(archive_file, cuda_device=cuda_device, overrides=merged or "",
                                 weights_file=weights_file), run


def load_archive(archive_file: Union[str, os.PathLike], cuda_device: int = -1,
                 overrides: Union[str, Dict[str, Any]] = "", weights_file: Optional[str] = None) -> Archive:
    """`load_run_archive` for AllenNLP's `evaluate` and `predict`: an unfinished run's archive loads
    with a warning (they have no option to refuse it by)."""
    return load_run_archive(archive_file, cuda_device, overrides, weights_file)[0]
