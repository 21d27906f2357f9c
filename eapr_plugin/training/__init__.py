from eapr_plugin.training.callbacks import BatchSeeds
from eapr_plugin.training.metrics import LanguageAccuracy
from eapr_plugin.training.optimizers import FusedAdamWOptimizer
