"""
Archive loading for AllenNLP's own `evaluate` and `predict`: through
`eapr_plugin.models.archival.load_archive`, so an empty or truncated `model.tar.gz` is named as such
with the command that rebuilds it, and archives load on machines without the training machine's
encoder folder.
"""
from eapr_plugin.models.archival import check_archive, load_archive  # noqa: F401  (check_archive: API)


def guard_allennlp_archive_loading() -> None:
    """
    AllenNLP's `evaluate` and `predict` call `load_archive` by its module-level name when they run
    (after plugins are imported); pointing that name in each module at this plugin's
    `load_archive` adds the integrity check and the portable encoder. Archives of other models load
    exactly as before (no override applies to them).
    """
    import allennlp.commands.evaluate as evaluate
    import allennlp.commands.predict as predict

    for module in (evaluate, predict):
        module.load_archive = load_archive


guard_allennlp_archive_loading()
