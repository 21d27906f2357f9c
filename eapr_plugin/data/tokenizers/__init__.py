from eapr_plugin.data.tokenizers.checked_pretrained_transformer_tokenizer import (
    CheckedPretrainedTransformerTokenizer,
)
