from eapr_plugin.commands.archives import guard_allennlp_archive_loading  # noqa: F401  (applied at import)
from eapr_plugin.commands.evaluate_languages import EvaluateLanguages
from eapr_plugin.commands.predict import extend_allennlp_predict  # noqa: F401  (applied at import)
from eapr_plugin.commands.compare_languages import CompareLanguages
