import pytest
from allennlp.common.checks import ConfigurationError

from eapr_plugin.data.tokenizers import CheckedPretrainedTransformerTokenizer


def test_a_local_folder_tokenizes_like_the_parent(tiny_encoders):
    tokenizer = CheckedPretrainedTransformerTokenizer(tiny_encoders["tiny-bert"], max_length=8)
    assert [t.text for t in tokenizer.tokenize("a b")][0] == "[CLS]"


def test_an_unknown_model_offline_names_the_setting_and_the_way_out():
    with pytest.raises(ConfigurationError, match=r"'no-such-org/no-such-model'.*EAPR_ENCODER.*HF_HUB_OFFLINE=1"):
        CheckedPretrainedTransformerTokenizer("no-such-org/no-such-model")
