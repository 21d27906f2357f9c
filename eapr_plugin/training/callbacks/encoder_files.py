import logging
import os

from allennlp.training.callbacks.callback import TrainerCallback

from eapr_plugin.models.archival import ENCODER_FOLDER

logger = logging.getLogger(__name__)


@TrainerCallback.register("eapr_encoder_files")
class EncoderFiles(TrainerCallback):
    """
    Writes the encoder's configuration and tokenizer files (no weights: the archive's `weights.th`
    holds them) into `SERIALIZATION_DIR/encoder/` when training starts, so that the recipe's
    `include_in_archive: ["encoder"]` puts them into `model.tar.gz` and the archive loads on a
    machine without the training machine's encoder folder (`eapr_plugin.models.archival`).

    Registered as a `TrainerCallback` with name "eapr_encoder_files".
    """

    def on_start(self, trainer, is_primary: bool = True, **kwargs) -> None:
        if not is_primary or not self.serialization_dir:
            return
        from transformers import AutoTokenizer

        model = trainer.model.module if hasattr(trainer.model, "module") else trainer.model
        config = model._transformer.config
        folder = os.path.join(self.serialization_dir, ENCODER_FOLDER)
        os.makedirs(folder, exist_ok=True)
        config.save_pretrained(folder)
        AutoTokenizer.from_pretrained(config.name_or_path).save_pretrained(folder)
        logger.info("encoder configuration and tokenizer of %s saved to %s for the archive",
                    config.name_or_path, folder)
