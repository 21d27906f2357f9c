"""
Archive loading for `evaluate-languages` and AllenNLP's own `evaluate` and `predict`: an empty or
truncated `model.tar.gz` (a run killed while AllenNLP wrote it) is named as such, with the command
that rebuilds it, and archives load on machines without the training machine's encoder folder.
"""
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


def checked_load_archive(archive_file, *args, **kwargs):
    """`check_archive`, then `eapr_plugin.models.archival.load_archive` (portable archives)."""
    from eapr_plugin.models.archival import load_archive

    check_archive(str(archive_file))
    return load_archive(archive_file, *args, **kwargs)


def guard_allennlp_archive_loading() -> None:
    """
    AllenNLP's `evaluate` and `predict` call `load_archive` by its module-level name when they run
    (after plugins are imported); pointing that name in each module at `checked_load_archive` adds
    the integrity check and the portable encoder (eapr_plugin/models/archival.py). Archives of
    other models load exactly as before (no override applies to them).
    """
    import allennlp.commands.evaluate as evaluate
    import allennlp.commands.predict as predict

    for module in (evaluate, predict):
        module.load_archive = checked_load_archive


guard_allennlp_archive_loading()
