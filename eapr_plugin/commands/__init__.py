from eapr_plugin.commands.archives import check_archive, checked_load_archive  # noqa: F401  (wraps AllenNLP's at import)
from eapr_plugin.commands.evaluate_languages import EvaluateLanguages
from eapr_plugin.commands.predict import extend_allennlp_predict  # noqa: F401  (applied at import)
from eapr_plugin.commands.compare_languages import CompareLanguages
