from eapr_plugin.losses.pair_loss import PairLoss, StreamOutput, StreamRequest
from eapr_plugin.losses.robust_targets import RobustTargets
from eapr_plugin.losses.embedding_push import EmbeddingPush
from eapr_plugin.losses.attention_pull import AttentionPull
from eapr_plugin.losses.prediction_consistency import PredictionConsistency
