"""
An empty or truncated `model.tar.gz` (a run killed while AllenNLP wrote it) is named as such, with
the command that rebuilds it, by `evaluate-languages` and by AllenNLP's own `evaluate` and `predict`.
"""
import functools
import os
import tarfile
import zlib


from allennlp.common.checks import ConfigurationError


def check_archive(archive_file: str) -> None:
    """A local archive that is empty or truncated (a run killed while writing it) is named as such."""
    if not os.path.isfile(archive_file):
        return  # URLs and missing files: AllenNLP's own message
    try:
        with tarfile.open(archive_file) as archive:
            archive.getmembers()
    except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
        raise ConfigurationError(
            f"{archive_file} is incomplete ({os.path.getsize(archive_file)} bytes; {type(error).__name__}: "
            f"{' '.join(str(error).split())}): a run killed while archiving leaves it so. `allennlp train CONFIG -s "
            f"{os.path.dirname(archive_file) or '.'} --recover` finishes the run and writes the archive again"
        ) from error


def guard_allennlp_archive_loading() -> None:
    """
    AllenNLP's `evaluate` and `predict` call `load_archive` by its module-level name when they run
    (after plugins are imported); wrapping that name in each module adds `check_archive` in front.
    Archives that open are loaded exactly as before.
    """
    import allennlp.commands.evaluate as evaluate
    import allennlp.commands.predict as predict

    for module in (evaluate, predict):
        original = module.load_archive
        if getattr(original, "checks_archive", False):
            continue

        @functools.wraps(original)
        def checked(archive_file, *args, _load=original, **kwargs):
            check_archive(str(archive_file))
            return _load(archive_file, *args, **kwargs)

        checked.checks_archive = True
        module.load_archive = checked


guard_allennlp_archive_loading()
