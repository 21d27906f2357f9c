"""
`eapr_model_selection`: English-dev selection (AllenNLP's) is recorded and left alone; `last` keeps
the final epoch's weights; `average` the uniform average of the last k epochs', computed here
independently from the epochs' own checkpoints; the running sum survives a checkpoint round trip.
"""
import json
import tarfile
from types import SimpleNamespace

import pytest
import torch
from allennlp.common.checks import ConfigurationError

from eapr_plugin.training.callbacks import ModelSelection
from tests.support.cli import load_script, run_allennlp, run_script
from tests.support.tasks import tiny_ext_vars

FRESH_START = {"_start_after_epochs_completed": 0, "_start_after_batches_in_epoch_completed": 0}  # no --recover


class Counter(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(2, 3))
        self.register_buffer("steps", torch.zeros((), dtype=torch.long))


def train(callback, epochs, tmp_path, values):
    """Run `callback` over `epochs` epochs whose weights are `values[epoch]`; returns the model and metrics."""
    model = Counter()
    trainer = SimpleNamespace(model=model, _num_epochs=epochs, _best_model_filename=str(tmp_path / "best.th"),
                              **FRESH_START)
    callback.on_start(trainer)
    for epoch in range(epochs):
        with torch.no_grad():
            model.weight.fill_(values[epoch])
            model.steps.fill_(epoch + 1)
        callback.on_epoch(trainer, metrics={}, epoch=epoch)
    metrics = {"best_epoch": 0}
    callback.on_end(trainer, metrics=metrics, epoch=epochs - 1)
    return model, metrics, trainer


def test_average_of_the_last_epochs(tmp_path):
    values = [1.0, 2.0, 4.0, 8.0]
    model, metrics, trainer = train(ModelSelection(str(tmp_path), "average", average_last=3), 4, tmp_path, values)
    assert torch.equal(model.weight, torch.full((2, 3), (2.0 + 4.0 + 8.0) / 3))
    assert model.steps.item() == 4  # integer buffers come from the final epoch
    assert metrics["selection"] == "average" and metrics["selected_epochs"] == [1, 2, 3]
    saved = torch.load(tmp_path / "best.th")
    assert torch.equal(saved["weight"], model.weight.detach()) and trainer._best_model_filename == str(tmp_path / "best.th")


def test_last_and_english_dev(tmp_path):
    model, metrics, _ = train(ModelSelection(str(tmp_path), "last"), 3, tmp_path, [1.0, 5.0, 3.0])
    assert torch.equal(model.weight, torch.full((2, 3), 3.0)) and metrics["selected_epochs"] == [2]
    (tmp_path / "dev").mkdir()
    model, metrics, _ = train(ModelSelection(str(tmp_path / "dev")), 3, tmp_path / "dev", [1.0, 5.0, 3.0])
    assert metrics == {"best_epoch": 0, "selection": "english_dev", "selected_epochs": [0]}
    assert not (tmp_path / "dev" / "best.th").exists()  # AllenNLP's own best.th is left to AllenNLP


def test_the_running_sum_survives_a_checkpoint(tmp_path):
    """`--recover` restores the callback's state from the checkpoint: resuming gives the same average."""
    first = ModelSelection(str(tmp_path), "average", average_last=2)
    model = Counter()
    trainer = SimpleNamespace(model=model, _num_epochs=3, _best_model_filename=None, **FRESH_START)
    for epoch, value in enumerate([1.0, 2.0]):
        with torch.no_grad():
            model.weight.fill_(value)
        first.on_epoch(trainer, metrics={}, epoch=epoch)
    resumed = ModelSelection(str(tmp_path), "average", average_last=2)
    resumed.load_state_dict(torch.load(_saved(first.state_dict(), tmp_path)))
    with torch.no_grad():
        model.weight.fill_(6.0)
    resumed.on_epoch(trainer, metrics={}, epoch=2)
    resumed.on_end(trainer, metrics={})
    assert torch.equal(model.weight, torch.full((2, 3), 4.0))


def _saved(state, tmp_path):
    path = tmp_path / "callback_state.th"
    torch.save(state, path)
    return path


def test_settings_are_checked(tmp_path):
    with pytest.raises(ConfigurationError, match="selection 'best' is not one of english_dev, last, average"):
        ModelSelection(str(tmp_path), "best")
    with pytest.raises(ConfigurationError, match="average_last must be >= 1"):
        ModelSelection(str(tmp_path), "average", average_last=0)
    with pytest.raises(ConfigurationError, match="average_last = 4 exceeds the run's 3 epochs"):
        ModelSelection(str(tmp_path), "average", average_last=4).on_start(SimpleNamespace(_num_epochs=3))


@pytest.mark.slow
def test_the_archive_holds_the_average(tiny_encoders, nli_files, synonym_table, tmp_path):
    """The real CLI: `EAPR_SELECTION=average EAPR_AVERAGE_LAST=2` archives the mean of the last two
    epochs' checkpoints (every checkpoint kept here to check it), and metrics.json says so; with
    `EAPR_EPOCH_EVAL` each epoch is scored per language into language_curves.jsonl."""
    env = tiny_ext_vars(tiny_encoders["tiny-bert"], nli_files["en"], nli_files["de"], synonym_table,
                        EAPR_EPOCHS="3", EAPR_SELECTION="average", EAPR_AVERAGE_LAST="2",
                        EAPR_EPOCH_EVAL=f"dev={nli_files['de']};test=fr={nli_files['fr']},{nli_files['zh']}")
    overrides = json.dumps({"trainer.checkpointer": {"keep_most_recent_by_count": None}})
    run_allennlp(["train", "training_configs/xnli_eapr.jsonnet", "-s", tmp_path / "run", "-o", overrides], env)
    run = tmp_path / "run"
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["selection"] == "average" and metrics["selected_epochs"] == [1, 2]
    second, third = (torch.load(run / f"model_state_e{e}_b0.th") for e in (2, 3))
    with tarfile.open(run / "model.tar.gz") as archive:
        archived = torch.load(archive.extractfile("weights.th"))
    for name, tensor in third.items():
        expected = (second[name] + tensor) / 2 if tensor.is_floating_point() else tensor
        assert torch.allclose(archived[name], expected, atol=1e-6), name
    assert any(not torch.equal(second[n], third[n]) for n in third)  # the epochs differ: a real average
    # scripts/reselect.py makes the same selections after training, from the kept checkpoints.
    run_script("scripts/reselect.py", [run, "--selection", "average", "--average-last", "2"])
    reselected = torch.load(run / "weights_average2.th")
    assert all(torch.equal(reselected[name], archived[name]) for name in archived)
    assert json.loads((run / "reselect_average2.json").read_text())["selected_epochs"] == [1, 2]
    assert not list(run.glob("*.partial"))  # written under another name, renamed once complete
    run_script("scripts/reselect.py", [run, "--selection", "last"])
    with tarfile.open(run / "model_last.tar.gz") as archive:
        last = torch.load(archive.extractfile("weights.th"))
        assert "encoder/tokenizer_config.json" in archive.getnames()
    assert all(torch.equal(last[name], third[name]) for name in third)
    (run / "model_state_e1_b0.th").unlink()
    failed = run_script("scripts/reselect.py", [run, "--selection", "average", "--average-last", "3"], check=False)
    assert failed.returncode != 0 and "model_state_e1_b0.th not kept" in failed.stderr
    # eapr_epoch_evaluation (EAPR_EPOCH_EVAL): every epoch scored per language on each group of inputs
    curves = [json.loads(line) for line in (run / "language_curves.jsonl").read_text().splitlines()]
    assert [c["epoch"] for c in curves] == [0, 1, 2]
    rows = {language: len(open(nli_files[language]).read().splitlines()) for language in ("de", "fr", "zh")}
    for curve in curves:
        assert set(curve["dev"]) == {"de"} and set(curve["test"]) == {"fr", "zh"}
        for group in ("dev", "test"):
            for language, accuracy in curve[group].items():  # a share of that language's rows
                assert round(accuracy * rows[language], 6) == int(round(accuracy * rows[language])), (group, language)


def test_reselect_refuses_a_run_that_has_not_finished(tmp_path):
    reselect = load_script("scripts/reselect.py")
    (tmp_path / "run_status.json").write_text('{"finished": false}')  # interrupted: no metrics.json
    with pytest.raises(SystemExit, match=r"no metrics.json, so `allennlp train` has not finished this run.*--recover"):
        reselect.selected_epochs(tmp_path, "last", 2)
