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
from typing import Any, Dict, Iterator, Optional, Union

from allennlp.common.checks import ConfigurationError

from allennlp.models.archival import CONFIG_NAME, Archive
from allennlp.models.archival import load_archive as allennlp_load_archive

logger = logging.getLogger(__name__)

ENCODER_FOLDER = "encoder"
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


def portable_overrides(archive_file: str) -> Dict[str, Any]:
    """The overrides (dotted paths) that load this archive without the training machine's encoder;
    the archive is read once, and checked on the way (`opened_archive`)."""
    with opened_archive(archive_file) as archive:
        return _overrides(archive_file, archive) if archive is not None else {}


def _overrides(archive_file: str, archive: tarfile.TarFile) -> Dict[str, Any]:
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


def load_archive(archive_file: Union[str, os.PathLike], cuda_device: int = -1,
                 overrides: Union[str, Dict[str, Any]] = "", weights_file: Optional[str] = None) -> Archive:
    """AllenNLP's `load_archive`, with the encoder resolved as the module docstring says; the caller's
    own `overrides` win over the computed ones."""
    from allennlp.common.params import parse_overrides

    user = parse_overrides(overrides) if isinstance(overrides, str) else dict(overrides)
    computed = {key: value for key, value in portable_overrides(str(archive_file)).items()
                if not any(key == mine or key.startswith(mine + ".") for mine in user)}
    merged = {**computed, **user}
    return allennlp_load_archive(archive_file, cuda_device=cuda_device, overrides=merged or "",
                                 weights_file=weights_file)
