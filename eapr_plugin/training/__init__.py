from eapr_plugin.training.callbacks import BatchSeeds
from eapr_plugin.training.metrics import LanguageAccuracy
