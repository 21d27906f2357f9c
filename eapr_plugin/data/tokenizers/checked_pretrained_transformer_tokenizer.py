from typing import Optional

from allennlp.common.checks import ConfigurationError
from allennlp.data.tokenizers import PretrainedTransformerTokenizer, Tokenizer
from transformers import AutoConfig
from transformers.utils import is_offline_mode


@Tokenizer.register("eapr_pretrained_transformer")
class CheckedPretrainedTransformerTokenizer(PretrainedTransformerTokenizer):
    """
    AllenNLP's `pretrained_transformer` tokenizer, with one clear error when `model_name` is
    neither a local folder nor loadable from the Hub or its cache (offline machines, typos),
    naming the setting and the ways out, and a check that `max_length` is at least 1 and within
    the encoder's position limit (`max_position_embeddings`, less RoBERTa's padding offset), so an
    over-long setting fails here instead of as an index error in the first batch. Everything else
    is the parent class.

    Registered as a `Tokenizer` with name "eapr_pretrained_transformer".
    """

    def __init__(self, model_name: str, *args, **kwargs) -> None:
        max_length = kwargs.get("max_length")
        if max_length is not None and max_length < 1:
            raise ConfigurationError(
                f"tokenizer `max_length` must be >= 1, got {max_length} (EAPR_MAX_LENGTH in training_configs/)"
            )
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
        if max_length is not None:
            limit = position_limit(model_name)
            if limit is not None and max_length > limit:
                raise ConfigurationError(
                    f"tokenizer `max_length` = {max_length} is beyond what the encoder {model_name!r} can "
                    f"embed ({limit} positions); set EAPR_MAX_LENGTH <= {limit}"
                )


def position_limit(model_name: str) -> Optional[int]:
    """How many tokens the encoder can embed (None when its config cannot be read)."""
    try:
        config = AutoConfig.from_pretrained(model_name)
    except (OSError, ValueError):
        return None
    limit = getattr(config, "max_position_embeddings", None)
    if limit is None:
        return None
    if config.model_type in ("roberta", "xlm-roberta", "xlm-roberta-xl", "camembert"):
        limit -= (config.pad_token_id or 0) + 1  # RoBERTa positions start after the padding index
    return limit
