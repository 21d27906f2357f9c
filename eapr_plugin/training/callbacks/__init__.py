from eapr_plugin.training.callbacks.batch_seeds import BatchSeeds
from eapr_plugin.training.callbacks.encoder_files import EncoderFiles
from eapr_plugin.training.callbacks.model_selection import ModelSelection
from eapr_plugin.training.callbacks.run_record import RunRecord
