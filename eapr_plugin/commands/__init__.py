from eapr_plugin.commands.archives import check_archive, guard_allennlp_archive_loading  # noqa: F401
from eapr_plugin.commands.evaluate_languages import EvaluateLanguages
from eapr_plugin.commands.predict import extend_allennlp_predict  # noqa: F401  (applied at import)
