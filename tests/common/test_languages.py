import pytest
from allennlp.common.checks import ConfigurationError

from eapr_plugin.common.languages import check_language, is_english, is_language_code


def test_english_is_decided_by_the_table_in_both_tag_systems():
    assert is_english("en") and is_english("eng_Latn")
    for other in ("english", "EN", "de", "eng_Latx", None):
        assert not is_english(other)


def test_language_codes():
    assert is_language_code("sw") and is_language_code("zho_Hans")
    assert not is_language_code("ger") and not is_language_code("zh_hans")
    assert check_language(None, "x") is None and check_language("de", "x") == "de"
    with pytest.raises(ConfigurationError, match=r"unknown language code 'german' \(setting `--languages`\)"):
        check_language("german", "--languages")
