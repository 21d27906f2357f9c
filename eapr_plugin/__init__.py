"""
eapr_plugin: Embedding-Push, Attention-Pull and Robust targets (Ding et al., COLING 2022) for
zero-shot cross-lingual text classification, as an AllenNLP plugin. Importing the package
registers its components (AllenNLP imports it through `.allennlp_plugins` or `--include-package`).
"""
import sys

from eapr_plugin.version import VERSION
from eapr_plugin.common.config_env import register_ext_var_defaults

register_ext_var_defaults()
from eapr_plugin.perturbers import Chain, Perturber, SubwordSampling, SynonymPerturber
from eapr_plugin.losses import AttentionPull, EmbeddingPush, PairLoss, PredictionConsistency, RobustTargets, StreamOutput, StreamRequest
from eapr_plugin.data import CheckedPretrainedTransformerTokenizer
from eapr_plugin.dataset_readers import EaprReader, PawsxReader, Sib200Reader, XnliReader
from eapr_plugin.models import EaprClassifier
from eapr_plugin.predictors import EaprClassifierPredictor
from eapr_plugin.training import BatchSeeds, LanguageAccuracy
import eapr_plugin.commands  # noqa: F401  (registers subcommands)
from eapr_plugin.common.preflight import preflight_from_command_line

preflight_from_command_line(sys.argv)
