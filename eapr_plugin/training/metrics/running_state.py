"""
The running state of a model's metrics (the counts and sums an AllenNLP `Metric` accumulates between
two resets), read out and put back, so that a run resumed from a checkpoint taken inside an epoch
reports that epoch's training metrics over all of its batches (`eapr_run_record` carries the state in
the checkpoint). A `Metric` keeps its state in its attributes and has no `state_dict`, so the state is
a deep copy of those attributes.
"""
import copy
from typing import Any, Dict, Iterator, Tuple

import torch
from allennlp.training.metrics.metric import Metric


def metrics_of(model: torch.nn.Module) -> Iterator[Tuple[str, Metric]]:
    """Every `Metric` the model holds, under a name stable across processes: the attributes of the
    model and of each of its submodules (`module.attribute`), and the values of the dicts, lists and
    tuples among them (`module.attribute.key`), the way AllenNLP models keep their metrics."""
    for module_name, module in model.named_modules():
        for attribute, value in vars(module).items():
            name = f"{module_name}.{attribute}" if module_name else attribute
            if isinstance(value, Metric):
                yield name, value
            elif isinstance(value, dict):
                for key, item in value.items():
                    if isinstance(item, Metric):
                        yield f"{name}.{key}", item
            elif isinstance(value, (list, tuple)):
                for index, item in enumerate(value):
                    if isinstance(item, Metric):
                        yield f"{name}.{index}", item


def running_state(model: torch.nn.Module) -> Dict[str, Dict[str, Any]]:
    """`{metric name: a copy of its attributes}` for every metric of `model`."""
    return {name: copy.deepcopy(vars(metric)) for name, metric in metrics_of(model)}


def restore_running_state(model: torch.nn.Module, state: Dict[str, Dict[str, Any]]) -> bool:
    """Puts `state` (from `running_state` of the same model) back into the model's metrics. Returns
    False, changing nothing, when the model's metrics are not the ones `state` names (another model
    or another version of it)."""
    metrics = dict(metrics_of(model))
    if set(metrics) != set(state):
        return False
    for name, metric in metrics.items():
        attributes = vars(metric)
        attributes.clear()
        attributes.update(copy.deepcopy(state[name]))
    return True
