from allennlp.common.checks import ConfigurationError
from allennlp.data.tokenizers import PretrainedTransformerTokenizer, Tokenizer
from transformers.utils import is_offline_mode


@Tokenizer.register("eapr_pretrained_transformer")
class CheckedPretrainedTransformerTokenizer(PretrainedTransformerTokenizer):
    """
    AllenNLP's `pretrained_transformer` tokenizer, with one clear error when `model_name` is
    neither a local folder nor loadable from the Hub or its cache (offline machines, typos),
    naming the setting and the ways out. Everything else is the parent class.

    Registered as a `Tokenizer` with name "eapr_pretrained_transformer".
    """

    def __init__(self, model_name: str, *args, **kwargs) -> None:
        try:
            super().__init__(model_name, *args, **kwargs)
        except OSError as error:
            hub = "is disabled (HF_HUB_OFFLINE=1)" if is_offline_mode() else "cannot be reached"
            raise ConfigurationError(
                f"cannot load the encoder/tokenizer {model_name!r} (setting `model_name`; "
                f"EAPR_ENCODER in training_configs/): it is not a local folder, not in the Hugging "
                f"Face cache, and the Hub {hub}. Give a local model folder (an offline one: "
                "python scripts/offline_encoder.py DIR), fix the name, or go online. "
                f"({type(error).__name__}: {str(error).splitlines()[0]})"
            ) from error
