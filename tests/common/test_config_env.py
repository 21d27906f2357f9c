import pytest
from allennlp.common.checks import ConfigurationError

from eapr_plugin.common.config_env import EXT_VARS, check_setting, register_ext_var_defaults


@pytest.mark.parametrize("name, value, message", [
    ("EAPR_ALPHA", "abc", "EAPR_ALPHA='abc': expected a number"),
    ("EAPR_ALPHA", "-0.1", "EAPR_ALPHA='-0.1': must be >= 0"),
    ("EAPR_BETA", "nan", "EAPR_BETA='nan': expected a number"),
    ("EAPR_MAX_LENGTH", "0", "EAPR_MAX_LENGTH='0': must be >= 1"),
    ("EAPR_MAX_LENGTH", "12.5", "EAPR_MAX_LENGTH='12.5': expected an integer"),
    ("EAPR_NUM_PERTURBATIONS", "-3", "must be >= 1"),
    ("EAPR_LR", "0", "EAPR_LR='0': must be > 0"),
    ("EAPR_LAYER_LR_DECAY", "0", "EAPR_LAYER_LR_DECAY='0': must be > 0"),
    ("EAPR_LAYER_LR_DECAY", "1.5", "EAPR_LAYER_LR_DECAY='1.5': must be <= 1"),
    ("EAPR_AMP", "yes", "EAPR_AMP='yes': expected true or false"),
    ("EAPR_LAYER", "true", "EAPR_LAYER='true': expected an integer"),
    ("EAPR_PC_TARGET", "perturbed", "EAPR_PC_TARGET='perturbed': expected one of both, original"),
])
def test_bad_values_name_the_variable(name, value, message):
    with pytest.raises(ConfigurationError, match=message.replace("(", r"\(").replace(".", r"\.")):
        check_setting(name, value)


def test_good_and_empty_values_pass_and_import_registers_every_name(monkeypatch):
    for name, value in (("EAPR_ALPHA", "0.1"), ("EAPR_ALPHA", "1e-3"), ("EAPR_MAX_LENGTH", "128"),
                        ("EAPR_AMP", "false"), ("EAPR_ENCODER", "anything/at-all"), ("EAPR_SEED", ""),
                        ("EAPR_PC_TARGET", "original"), ("EAPR_LAYER_LR_DECAY", "0.5"),
                        ("EAPR_LAYER_LR_DECAY", "1")):
        check_setting(name, value)
    for name in EXT_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("EAPR_BATCH_SIZE", "eight")
    with pytest.raises(ConfigurationError, match="EAPR_BATCH_SIZE='eight'"):
        register_ext_var_defaults()
