"""
Every config in training_configs/ loads with fixtures substituted and builds its trainer, so a
config can never rot; the defaults are the paper's setup.
"""
import re

import pytest
from allennlp.commands.train import TrainModel
from allennlp.common import Params
from allennlp.common.checks import ConfigurationError
from allennlp.common.util import prepare_environment

from eapr_plugin.common.config_env import EXT_VARS, register_ext_var_defaults
from eapr_plugin.models.archival import ENCODER_FOLDER, RUN_RECORD, RUN_STATUS
from tests.support.cli import REPO
from tests.support.tasks import tiny_ext_vars

CONFIGS = REPO / "training_configs"
CONFIG_FILES = sorted(p.name for p in CONFIGS.glob("*.jsonnet"))
TASK_OF = {"xnli": "xnli", "pawsx": "pawsx", "experiment": "xnli"}
ARCHIVED_RUN_FILES = [ENCODER_FOLDER, RUN_STATUS, RUN_RECORD]  # what the archive carries beside the weights


def test_every_ext_var_used_is_registered():
    used = set()
    for path in CONFIGS.glob("*sonnet"):
        used |= set(re.findall(r'"(EAPR_[A-Z_]+)"', path.read_text()))
    assert used and used <= set(EXT_VARS), used - set(EXT_VARS)


def test_defaults_are_the_papers_setup(monkeypatch):
    for name in EXT_VARS:
        monkeypatch.setenv(name, "")
    config = Params.from_file(str(CONFIGS / "xnli_eapr.jsonnet")).as_dict()
    trainer = config["trainer"]
    assert config["model"]["loss_terms"] == [
        {"type": "robust_targets", "weight": 1.0},
        {"type": "embedding_push", "weight": 0.1},
        {"type": "attention_pull", "weight": 1.0, "layer": 5, "mode": "exact", "max_length": 128},
    ]
    assert config["model"]["text_field_embedder"]["token_embedders"]["tokens"]["model_name"] == "bert-base-multilingual-cased"
    assert trainer["optimizer"] == {"type": "fused_adamw", "lr": 2e-5, "eps": 1e-8, "weight_decay": 0.0,
                                    "layer_lr_decay": 1.0}
    assert trainer["learning_rate_scheduler"] == {"type": "linear_with_warmup", "warmup_steps": 0}
    assert (trainer["grad_norm"], trainer["num_gradient_accumulation_steps"], trainer["num_epochs"]) == (1.0, 4, 1)
    assert config["data_loader"]["batch_size"] == 8
    assert trainer["validation_metric"] == "+accuracy"
    assert config["train_data_path"] == "hf:facebook/xnli:en:train"
    assert config["validation_data_path"] == "hf:facebook/xnli:en:validation"  # English dev only
    assert config["dataset_reader"]["num_perturbations"] == 3
    assert config["dataset_reader"]["tokenizer"]["max_length"] == 128
    assert config["random_seed"] == config["numpy_seed"] == config["pytorch_seed"] == 7
    assert "perturber" not in config["validation_dataset_reader"]
    assert "cuda_device" not in trainer and "distributed" not in config  # the GPU if any, else the CPU
    assert config["include_in_archive"] == ARCHIVED_RUN_FILES
    assert {"type": "eapr_encoder_files"} in trainer["callbacks"] and {"type": "eapr_run_record"} in trainer["callbacks"]
    names = [callback["type"] for callback in trainer["callbacks"]]
    assert names.index("eapr_run_record") > names.index("eapr_model_selection")  # finished only once selected
    pawsx = Params.from_file(str(CONFIGS / "pawsx_baseline.jsonnet")).as_dict()
    assert pawsx["model"]["loss_terms"] == [] and "perturber" not in pawsx["dataset_reader"]
    assert pawsx["trainer"]["num_epochs"] == 30


def test_ext_vars_switch_encoder_and_distributed(monkeypatch):
    for name in EXT_VARS:
        monkeypatch.setenv(name, "")
    monkeypatch.setenv("EAPR_ENCODER", "xlm-roberta-base")
    monkeypatch.setenv("EAPR_NUM_GPUS", "2")
    monkeypatch.setenv("EAPR_FIND_UNUSED", "true")
    monkeypatch.setenv("EAPR_AMP", "true")
    config = Params.from_file(str(CONFIGS / "xnli_rsda.jsonnet")).as_dict()
    assert config["dataset_reader"]["tokenizer"]["model_name"] == "xlm-roberta-base"
    assert config["distributed"] == {
        "cuda_devices": [0, 1], "ddp_accelerator": {"type": "torch", "find_unused_parameters": True}
    }
    assert "cuda_device" not in config["trainer"] and config["trainer"]["use_amp"] is True
    monkeypatch.setenv("EAPR_NUM_GPUS", "0")
    monkeypatch.setenv("EAPR_CPU_WORKERS", "2")
    config = Params.from_file(str(CONFIGS / "xnli_rsda.jsonnet")).as_dict()
    assert config["distributed"]["cuda_devices"] == [-1, -1]


def _task_files(task, nli_files, paws_files, topic_files):
    if task in ("sib200", "chatterbot"):
        return topic_files["eng_Latn"], topic_files["eng_Latn"]
    files = paws_files if task == "pawsx" else nli_files
    return files["en"], files["de"]


@pytest.mark.parametrize("name", CONFIG_FILES)
def test_config_builds_its_trainer(name, monkeypatch, tmp_path, tiny_encoders, nli_files, paws_files,
                                   topic_files, synonym_table):
    task = TASK_OF[name.split("_")[0].replace(".jsonnet", "")]
    train, dev = _task_files(task, nli_files, paws_files, topic_files)
    for key, value in tiny_ext_vars(tiny_encoders["tiny-xlmr"], train, dev, synonym_table).items():
        monkeypatch.setenv(key, value)
    params = Params.from_file(str(CONFIGS / name))
    method_terms = params.as_dict()["model"]["loss_terms"]
    prepare_environment(params)  # pops the seeds, as `allennlp train` does
    assert params.pop("include_in_archive") == ARCHIVED_RUN_FILES  # popped by `allennlp train` too
    train_model = TrainModel.from_params(params=params, serialization_dir=str(tmp_path / "run"), local_rank=0)
    model = train_model.model
    assert [term.name for term in model._loss_terms] == [term["type"] for term in method_terms]
    assert train_model.trainer._num_gradient_accumulation_steps == 2


@pytest.mark.parametrize("task", ["xnli", "pawsx", "sib200", "chatterbot"])
def test_experiment_config_methods_are_eapr_with_one_thing_off(task, monkeypatch, tiny_encoders, nli_files,
                                                                 paws_files, topic_files, synonym_table):
    """Each baseline/ablation is EAPR's recipe with exactly the stated part removed, for every task."""
    train, dev = _task_files(task, nli_files, paws_files, topic_files)

    def config(method):
        for key, value in tiny_ext_vars(tiny_encoders["tiny-bert"], train, dev, synonym_table,
                                        EAPR_TASK=task, EAPR_METHOD=method).items():
            monkeypatch.setenv(key, value)
        return Params.from_file(str(CONFIGS / "experiment.jsonnet")).as_dict()

    eapr = config("eapr")
    assert eapr["dataset_reader"]["type"] == ("sib200" if task == "chatterbot" else task)
    weights = {term["type"]: term["weight"] for term in eapr["model"]["loss_terms"]}
    assert set(weights) == {"robust_targets", "embedding_push", "attention_pull"} and all(weights.values())
    dropped = {"eapr_no_push": "embedding_push", "eapr_no_pull": "attention_pull", "eapr_no_rt": "robust_targets"}
    for method, term in dropped.items():
        ablation = config(method)
        assert {t["type"]: t["weight"] for t in ablation["model"]["loss_terms"]} == {**weights, term: 0.0}
        assert ablation["dataset_reader"] == eapr["dataset_reader"]
    two_stream = config("two_stream_ce")
    assert two_stream["model"]["loss_terms"] == [{"type": "robust_targets", "weight": 1.0}]
    assert two_stream["dataset_reader"] == eapr["dataset_reader"]
    rsda, baseline = config("rsda"), config("baseline")
    assert rsda["model"]["loss_terms"] == [] and rsda["dataset_reader"] == eapr["dataset_reader"]
    assert baseline["model"]["loss_terms"] == [] and "perturber" not in baseline["dataset_reader"]
    assert baseline["dataset_reader"]["num_perturbations"] == 0


def test_consistency_and_perturbed_ce_settings_reach_the_model_and_a_bad_target_names_its_variable(monkeypatch):
    for name in EXT_VARS:
        monkeypatch.setenv(name, "")
    config = Params.from_file(str(CONFIGS / "xnli_consistency.jsonnet")).as_dict()
    assert config["model"]["loss_terms"][-1] == {
        "type": "prediction_consistency", "weight": 1.0, "temperature": 1.0, "target": "both"
    }
    assert config["model"]["perturbed_ce_weight"] == 1.0
    monkeypatch.setenv("EAPR_PC_TARGET", "original")
    monkeypatch.setenv("EAPR_PC_TEMPERATURE", "2")
    monkeypatch.setenv("EAPR_PERTURBED_CE_WEIGHT", "0")
    config = Params.from_file(str(CONFIGS / "xnli_consistency.jsonnet")).as_dict()
    assert config["model"]["perturbed_ce_weight"] == 0
    assert config["model"]["loss_terms"][-1] == {
        "type": "prediction_consistency", "weight": 1.0, "temperature": 2, "target": "original"
    }
    monkeypatch.setenv("EAPR_PC_TARGET", "perturbed")  # checked against the term's own list where the plugin reads it
    with pytest.raises(ConfigurationError, match="EAPR_PC_TARGET='perturbed': expected one of both, original"):
        register_ext_var_defaults()


def test_ramp_up_and_balance_reach_the_model_and_a_malformed_value_names_its_variable(monkeypatch):
    for name in EXT_VARS:
        monkeypatch.setenv(name, "")
    config = Params.from_file(str(CONFIGS / "xnli_consistency.jsonnet")).as_dict()
    assert "ramp_up" not in config["model"] and "balance" not in config["model"]
    monkeypatch.setenv("EAPR_RAMP_UP", "prediction_consistency=100")
    monkeypatch.setenv("EAPR_BALANCE", "prediction_consistency=0.5")
    config = Params.from_file(str(CONFIGS / "xnli_consistency.jsonnet")).as_dict()
    assert config["model"]["ramp_up"] == {"prediction_consistency": 100}
    assert config["model"]["balance"] == {"prediction_consistency": 0.5}
    for name in ("EAPR_RAMP_UP", "EAPR_BALANCE"):
        monkeypatch.setenv(name, "prediction_consistency")
        with pytest.raises(RuntimeError, match=f"{name}=prediction_consistency: expected NAME=NUMBER"):
            Params.from_file(str(CONFIGS / "xnli_consistency.jsonnet"))
        monkeypatch.setenv(name, "")


@pytest.mark.parametrize("encoder", ["tiny-bert", "tiny-xlmr"])
def test_the_frozen_lower_recipe_freezes_embeddings_and_layers_0_1_unless_overridden(encoder, monkeypatch, tmp_path,
                                                                                      tiny_encoders, nli_files, synonym_table):
    """xnli_frozen_lower.jsonnet: two-stream CE with the encoder's embedding layer and layers 0-1
    kept at their pretrained values, on BERT- and XLM-R-type encoders; EAPR_FREEZE replaces the list
    and EAPR_FREEZE=none trains every parameter."""
    for key, value in tiny_ext_vars(tiny_encoders[encoder], nli_files["en"], nli_files["de"], synonym_table).items():
        monkeypatch.setenv(key, value)

    def frozen(run):
        params = Params.from_file(str(CONFIGS / "xnli_frozen_lower.jsonnet"))
        assert [t["type"] for t in params.as_dict()["model"]["loss_terms"]] == ["robust_targets"]
        prepare_environment(params)
        params.pop("include_in_archive")
        model = TrainModel.from_params(params=params, serialization_dir=str(tmp_path / run), local_rank=0).model
        return {re.search(r"transformer_model\.(embeddings|encoder\.layer\.\d+|.*)", name).group(1)
                for name, p in model.named_parameters() if not p.requires_grad}

    assert frozen("default") == {"embeddings", "encoder.layer.0", "encoder.layer.1"}
    monkeypatch.setenv("EAPR_FREEZE", "embeddings")
    assert frozen("override") == {"embeddings"}
    monkeypatch.setenv("EAPR_FREEZE", "none")
    assert frozen("none") == set()


def test_shared_pair_swaps_reach_the_synonym_perturber_alone_and_in_a_chain(monkeypatch, tiny_encoders):
    from eapr_plugin.perturbers import Perturber

    for name in EXT_VARS:
        monkeypatch.setenv(name, "")
    monkeypatch.setenv("EAPR_ENCODER", tiny_encoders["tiny-xlmr"])  # subword sampling reads its tokenizer

    def perturber():
        config = Params.from_file(str(CONFIGS / "xnli_consistency.jsonnet")).as_dict()
        return Perturber.from_params(Params(config["dataset_reader"]["perturber"]))

    assert not perturber().joint_pairs  # the paper's independent perturbation by default
    monkeypatch.setenv("EAPR_SHARED_PAIR_SWAPS", "true")
    assert perturber().joint_pairs
    monkeypatch.setenv("EAPR_PERTURBER", "synonym+subword_sampling")
    assert perturber().joint_pairs and perturber().perturbers[0].joint_pairs
    monkeypatch.setenv("EAPR_SHARED_PAIR_SWAPS", "yes")
    with pytest.raises(ConfigurationError, match="EAPR_SHARED_PAIR_SWAPS"):
        register_ext_var_defaults()
