import pytest
from allennlp.common.checks import ConfigurationError

from eapr_plugin.data.tokenizers import CheckedPretrainedTransformerTokenizer


def test_a_local_folder_tokenizes_like_the_parent(tiny_encoders):
    tokenizer = CheckedPretrainedTransformerTokenizer(tiny_encoders["tiny-bert"], max_length=8)
    assert [t.text for t in tokenizer.tokenize("a b")][0] == "[CLS]"


def test_an_unknown_model_offline_names_the_setting_and_the_way_out():
    with pytest.raises(ConfigurationError, match=r"'no-such-org/no-such-model'.*EAPR_ENCODER.*HF_HUB_OFFLINE=1"):
        CheckedPretrainedTransformerTokenizer("no-such-org/no-such-model")


def test_max_length_must_fit_the_encoders_positions(tiny_encoders):
    # the tiny encoders embed 160 positions; XLM-R-type models lose pad_token_id + 1 of them
    CheckedPretrainedTransformerTokenizer(tiny_encoders["tiny-bert"], max_length=160)
    with pytest.raises(ConfigurationError, match=r"`max_length` = 161 is beyond .* \(160 positions\).*EAPR_MAX_LENGTH <= 160"):
        CheckedPretrainedTransformerTokenizer(tiny_encoders["tiny-bert"], max_length=161)
    from transformers import AutoConfig

    pad = AutoConfig.from_pretrained(tiny_encoders["tiny-xlmr"]).pad_token_id
    with pytest.raises(ConfigurationError, match=rf"\({160 - pad - 1} positions\)"):
        CheckedPretrainedTransformerTokenizer(tiny_encoders["tiny-xlmr"], max_length=160)
    with pytest.raises(ConfigurationError, match=r"`max_length` must be >= 1, got 0 \(EAPR_MAX_LENGTH"):
        CheckedPretrainedTransformerTokenizer(tiny_encoders["tiny-bert"], max_length=0)
