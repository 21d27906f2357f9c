import pickle

import torch
from allennlp.training.metrics import Average, CategoricalAccuracy

from eapr_plugin.training.callbacks.run_record import RunRecord
from eapr_plugin.training.metrics import LanguageAccuracy
from eapr_plugin.training.metrics.running_state import metrics_of, restore_running_state, running_state


class Head(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(2, 2)
        self.per_term = {"a_loss": Average(), "b_loss": Average()}


class Model(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self._accuracy = CategoricalAccuracy()
        self._languages = LanguageAccuracy()
        self.head = Head()
        self.listed = [Average(), "not a metric"]


def feed(model: Model, logits, gold, languages, values):
    model._accuracy(logits, gold)
    model._languages(logits, gold, languages)
    model.head.per_term["a_loss"](values[0])
    model.head.per_term["b_loss"](values[1])
    model.listed[0](values[2])


def metrics(model: Model):
    return {"accuracy": model._accuracy.get_metric(), **model._languages.get_metric(),
            **{k: m.get_metric() for k, m in model.head.per_term.items()}, "listed": model.listed[0].get_metric()}


def test_running_state_carries_every_metric_to_another_copy_of_the_model():
    """Every metric the model holds (attributes of the model and of its submodules, in dicts and
    lists) is found under a stable name; its state, put into a fresh model that then sees the rest
    of the data, gives what one model that saw all of it gives."""
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 3.0]])
    gold = torch.tensor([0, 0, 1, 1])
    whole, first, second = Model(), Model(), Model()
    assert [name for name, _ in metrics_of(whole)] == ["_accuracy", "_languages", "listed.0",
                                                       "head.per_term.a_loss", "head.per_term.b_loss"]
    feed(whole, logits[:2], gold[:2], ["de", "fr"], (1.0, 2.0, 3.0))
    feed(first, logits[:2], gold[:2], ["de", "fr"], (1.0, 2.0, 3.0))
    state = pickle.loads(pickle.dumps(running_state(first)))  # as a checkpoint holds it
    assert restore_running_state(second, state)
    for model in (whole, second):
        feed(model, logits[2:], gold[2:], ["de", "de"], (5.0, 0.0, 1.0))
    assert metrics(second) == metrics(whole)
    assert metrics(second) == {"accuracy": 0.5, "accuracy_de": 2 / 3, "accuracy_fr": 0.0, "a_loss": 3.0,
                               "b_loss": 1.0, "listed": 2.0}
    # the state is a copy: the first model's metrics go on alone
    feed(first, logits[:1], gold[:1], ["fr"], (0.0, 0.0, 0.0))
    assert metrics(second) == metrics(whole)


def test_a_state_naming_other_metrics_changes_nothing():
    model = Model()
    feed(model, torch.tensor([[1.0, 0.0]]), torch.tensor([0]), ["de"], (1.0, 1.0, 1.0))
    before = metrics(model)
    state = running_state(Model())
    del state["listed.0"]
    assert not restore_running_state(model, state)
    assert metrics(model) == before


def test_a_metric_that_cannot_be_saved_leaves_the_checkpoint_without_sums(tmp_path, caplog):
    """A metric holding something pickle cannot save (a lambda): the checkpoint carries no sums
    (the resumed epoch is then marked, as for older checkpoints), with one warning, not a crash."""
    model = Model()
    model.listed[0].transform = lambda value: value
    trainer = type("Trainer", (), {"model": model, "_distributed": False, "_epochs_completed": 0,
                                   "_batches_in_epoch_completed": 3})()
    callback = RunRecord(str(tmp_path))
    callback._trainer = trainer
    assert callback.state_dict() == {} and callback.state_dict() == {}
    assert sum("cannot be saved in a checkpoint" in r.getMessage() for r in caplog.records) == 1
    del model.listed[0].transform
    state = callback.state_dict()
    assert state["position"] == [0, 3] and set(state["workers"][0]) == {"metrics", "loss_sums"}
