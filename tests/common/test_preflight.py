from eapr_plugin.common.preflight import encoder_problem, file_problem, problems, run_folder_problem


def test_problems_name_the_setting_of_each_missing_input(tiny_encoders, tmp_path):
    config = {
        "model": {"type": "eapr_classifier",
                  "text_field_embedder": {"token_embedders": {"tokens": {"model_name": str(tmp_path / "enc")}}}},
        "dataset_reader": {"perturber": {"table": str(tmp_path / "syn.json")}},
        "train_data_path": str(tmp_path / "train.tsv"),
        "validation_data_path": "hf-disk:" + str(tmp_path / "saved"),
    }
    found = problems(config, None, recover=False, force=False)
    assert [p.split("=")[0] for p in found] == ["EAPR_ENCODER", "EAPR_SYNONYMS", "EAPR_TRAIN_DATA", "EAPR_DEV_DATA"]
    assert encoder_problem(tiny_encoders["tiny-bert"]) is None
    assert "holds no config.json" in encoder_problem(str(tmp_path))


def test_offline_hub_names_and_urls_are_problems_only_offline(monkeypatch):
    import eapr_plugin.common.preflight as preflight

    monkeypatch.setattr(preflight, "is_offline_mode", lambda: True)
    assert "not in the Hugging Face cache" in encoder_problem("no-such-org/no-such-model")
    assert "this machine is offline" in file_problem("EAPR_SYNONYMS", "https://example.org/t.json")
    assert file_problem("EAPR_TRAIN_DATA", "hf:facebook/xnli:en:train") is None  # `datasets` reports its own
    monkeypatch.setattr(preflight, "is_offline_mode", lambda: False)
    assert file_problem("EAPR_SYNONYMS", "https://example.org/t.json") is None


def test_a_run_folder_without_checkpoints_asks_for_force_not_recover(tmp_path):
    assert run_folder_problem(str(tmp_path / "new"), False, False) is None
    (tmp_path / "config.json").write_text("{}")
    assert "--force" in run_folder_problem(str(tmp_path), False, False)
    assert run_folder_problem(str(tmp_path), False, True) is None
    (tmp_path / "model_state_e0_b4.th").write_text("")
    assert run_folder_problem(str(tmp_path), False, False) is None  # AllenNLP's --recover advice applies
