import contextlib
import json
import logging
import os
import random
from typing import Any, Dict, Iterator, List

import numpy
import torch

from allennlp.common.checks import ConfigurationError
from allennlp.training.callbacks.callback import TrainerCallback

logger = logging.getLogger(__name__)


@TrainerCallback.register("eapr_epoch_evaluation")
class EpochEvaluation(TrainerCallback):
    """
    After every epoch, scores the model on further labelled inputs, per language, and appends one
    line to `SERIALIZATION_DIR/language_curves.jsonl`: `{"epoch": E, "dev": {lang: accuracy}, "test":
    {...}}` for inputs `{"dev": [...], "test": [...]}`. It is what target-language ("oracle")
    selection needs: for each language the epoch with the best accuracy on *its own* dev set, and
    that epoch's test accuracy. Such a selection uses target-language labels a zero-shot user does
    not have, so the benchmarks report it apart from English-dev selection, never in its place
    (Keung et al., EMNLP 2020). It is also a direct view of how each language's accuracy moves
    during training. Off in the recipe unless `EAPR_EPOCH_EVAL` names the inputs; it costs one
    evaluation of every input per epoch. Only the primary worker evaluates.

    It only scores: the random generators (Python's, which AllenNLP's samplers shuffle with and the
    bucketed evaluation batches draw from; numpy's; torch's, CPU and CUDA) are put back as they were
    after each evaluation, so the run trains on the same batches with the same dropout masks as
    without the callback, weight for weight (tested).

    Inputs are whatever `allennlp evaluate-languages` takes (files, globs, `LANG=PATH`, ...), read
    with the run's validation reader; every row must be labelled (as there).

    Registered as a `TrainerCallback` with name "eapr_epoch_evaluation".

    # Parameters

    serialization_dir : `str`
        Filled in by the trainer.
    inputs : `Dict[str, List[str]]`
        A name per group of inputs (`dev`, `test`) and its inputs.
    batch_size : `int`, optional (default = `64`)
    """

    def __init__(self, serialization_dir: str, inputs: Dict[str, List[str]], batch_size: int = 64) -> None:
        super().__init__(serialization_dir)
        if not inputs or not all(inputs.values()):
            raise ConfigurationError("eapr_epoch_evaluation: `inputs` needs at least one group with inputs "
                                     "(EAPR_EPOCH_EVAL, e.g. 'dev=data/*/dev.tsv;test=data/*/test.tsv')")
        from eapr_plugin.commands.evaluate_languages import expand_inputs

        self.inputs = {name: expand_inputs(paths) for name, paths in inputs.items()}  # fails now, not after epoch 1
        self.batch_size = batch_size
        self._instances: Dict[str, Dict[str, list]] = {}

    def _groups(self, reader, model) -> Dict[str, Dict[str, list]]:
        """The instances of every group, by language, read once."""
        from eapr_plugin.commands.evaluate_languages import by_language, check_gold_labels

        if not self._instances:
            namespace = getattr(model, "_label_namespace", "labels")
            for name, paths in self.inputs.items():
                languages: Dict[str, list] = {}
                for path, named in paths:
                    instances = list(reader.read(path))
                    check_gold_labels(instances, path, model.vocab, namespace)
                    for language, group in by_language(instances, path, named).items():
                        languages.setdefault(language, []).extend(group)
                self._instances[name] = languages
        return self._instances

    def on_epoch(self, trainer, metrics: Dict[str, Any], epoch: int, is_primary: bool = True, **kwargs) -> None:
        if not is_primary or not self.serialization_dir or epoch < 0:
            return
        from eapr_plugin.commands.evaluate_languages import evaluate_group

        loader = trainer._validation_data_loader
        if loader is None:
            raise ConfigurationError("eapr_epoch_evaluation needs a validation data loader (its reader)")
        model = trainer.model
        was_training = model.training
        model.eval()
        device = trainer.cuda_device  # a torch.device; evaluate_group takes it as it is
        record: Dict[str, Any] = {"epoch": epoch}
        try:
            with random_state_kept():
                for name, languages in self._groups(loader.reader, model).items():
                    record[name] = {language: evaluate_group(model, group, self.batch_size, device)[0]["accuracy"]
                                    for language, group in languages.items()}
        finally:
            model.train(was_training)
        with open(os.path.join(self.serialization_dir, "language_curves.jsonl"), "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
        logger.info("eapr_epoch_evaluation: epoch %d scored on %s", epoch, ", ".join(self._instances))


@contextlib.contextmanager
def random_state_kept() -> Iterator[None]:
    """Python's, numpy's and torch's (CPU and CUDA) random states on exit as they were on entry."""
    states = (random.getstate(), numpy.random.get_state(), torch.get_rng_state(),
              torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None)
    try:
        yield
    finally:
        random.setstate(states[0])
        numpy.random.set_state(states[1])
        torch.set_rng_state(states[2])
        if states[3] is not None:
            torch.cuda.set_rng_state_all(states[3])
