import logging
import os
from typing import Any, Dict, List, Optional

import torch
from allennlp.common.checks import ConfigurationError
from allennlp.common.file_utils import hardlink_or_copy
from allennlp.training.callbacks.callback import TrainerCallback

logger = logging.getLogger(__name__)

SELECTIONS = ("english_dev", "last", "average")


def add_state(total: Optional[Dict[str, torch.Tensor]], state: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """The running sum of checkpoint averaging: floating-point tensors summed (on the CPU), integer
    buffers taken from the latest state."""
    state = {name: tensor.detach().to("cpu", copy=True) for name, tensor in state.items()}
    if total is None:
        return state
    for name, tensor in state.items():
        total[name] = total[name] + tensor if tensor.is_floating_point() else tensor
    return total


def mean_state(total: Dict[str, torch.Tensor], count: int) -> Dict[str, torch.Tensor]:
    """The uniform average of `count` states summed by `add_state`."""
    return {name: tensor / count if tensor.is_floating_point() else tensor for name, tensor in total.items()}


@TrainerCallback.register("eapr_model_selection")
class ModelSelection(TrainerCallback):
    """
    Which weights a run keeps, and so archives and scores. In zero-shot transfer the choice matters
    and English dev is a poor guide to other languages (Keung et al., "Don't Use English Dev: On the
    Zero-Shot Cross-Lingual Evaluation of Contextual Embeddings", EMNLP 2020), so the selection is a
    setting and every run records which one it used:

    - `english_dev` (the default): AllenNLP's own, the epoch with the best validation metric on
      the English dev set (`best.th`). This callback only records it.
    - `last`: the final epoch's weights, whatever English dev says.
    - `average`: checkpoint averaging, the uniform average of the last `average_last` epochs'
      weights (each floating-point tensor averaged; integer buffers from the final epoch).

    For `last` and `average` the chosen weights replace `best.th` at the end of training, so the
    archive, `allennlp evaluate` and `evaluate-languages` all use them. `metrics.json` gets
    `selection` and `selected_epochs` (the epochs whose weights the archive holds). The running
    sum is part of the callback's state, so `--recover` continues it exactly. Selection on
    target-language dev sets ("oracle") is never a training setting: it uses labels a zero-shot
    user does not have, and is reported separately by the benchmarks.

    `english_dev` and `--recover`: AllenNLP 2.10 saves an epoch's checkpoint before it writes that
    epoch's weights to `best.th` when the epoch is the best so far. A run killed between the two
    resumes with the metric tracker naming that epoch best while `best.th` is missing (the archive
    then fails) or holds an earlier epoch (the archive would hold the wrong weights, silently). So
    when a run resumes from the end of an epoch that its metric tracker calls the best, this callback
    writes that epoch's checkpointed weights to `best.th` again, as AllenNLP would have.

    Registered as a `TrainerCallback` with name "eapr_model_selection".

    # Parameters

    serialization_dir : `str`
        Filled in by the trainer.
    selection : `str`, optional (default = `"english_dev"`)
        One of `english_dev`, `last`, `average`.
    average_last : `int`, optional (default = `3`)
        `average`: how many final epochs are averaged (at most the run's `num_epochs`).
    """

    def __init__(self, serialization_dir: str, selection: str = "english_dev", average_last: int = 3) -> None:
        super().__init__(serialization_dir)
        if selection not in SELECTIONS:
            raise ConfigurationError(f"eapr_model_selection: selection {selection!r} is not one of "
                                     f"{', '.join(SELECTIONS)} (EAPR_SELECTION)")
        if average_last < 1:
            raise ConfigurationError(f"eapr_model_selection: average_last must be >= 1, got {average_last} "
                                     "(EAPR_AVERAGE_LAST)")
        self.selection = selection
        self.window = {"english_dev": 0, "last": 1, "average": average_last}[selection]
        self._sum: Optional[Dict[str, torch.Tensor]] = None
        self._epochs: List[int] = []

    def on_start(self, trainer, is_primary: bool = True, **kwargs) -> None:
        if self.window > trainer._num_epochs:
            raise ConfigurationError(f"eapr_model_selection: average_last = {self.window} exceeds the run's "
                                     f"{trainer._num_epochs} epochs (EAPR_AVERAGE_LAST, EAPR_EPOCHS)")
        kept = trainer._start_after_epochs_completed  # > 0 when `--recover` restored a checkpoint
        if kept and not trainer._start_after_batches_in_epoch_completed and self.serialization_dir \
                and trainer._metric_tracker.best_epoch == kept - 1:
            self._best_from_checkpoint(trainer, kept, is_primary)

    def _best_from_checkpoint(self, trainer, kept: int, is_primary: bool) -> None:
        """`best.th` := the weights of the checkpoint at the end of epoch `kept - 1`, the best so far."""
        sharded = trainer._ddp_wrapped_model is not None and trainer._ddp_wrapped_model.is_sharded
        checkpoint = os.path.join(self.serialization_dir, f"model_state_e{kept}_b0.th")
        best = os.path.join(self.serialization_dir, "best.th")
        if trainer._moving_average is not None or sharded or not os.path.exists(checkpoint):
            if is_primary and not os.path.exists(best):
                logger.warning("eapr_model_selection: resumed after epoch %d, the best so far, without its weights "
                               "in best.th and without %s to restore them from", kept - 1, checkpoint)
            return
        if is_primary:
            if os.path.exists(best):
                os.remove(best)  # may be a hard link to an earlier checkpoint's file
            hardlink_or_copy(checkpoint, best)
            logger.info("eapr_model_selection: best.th set to epoch %d's weights (%s), the best so far, which the "
                        "interrupted run may not have written", kept - 1, os.path.basename(checkpoint))
        trainer._best_model_filename = best

    def on_epoch(self, trainer, metrics: Dict[str, Any], epoch: int, is_primary: bool = True, **kwargs) -> None:
        if epoch < trainer._num_epochs - self.window:
            return
        self._sum = add_state(self._sum, trainer.model.state_dict())
        self._epochs.append(epoch)

    def on_end(self, trainer, metrics: Dict[str, Any] = None, epoch: int = None, is_primary: bool = True,
               **kwargs) -> None:
        if metrics is None:  # training failed; nothing to select
            return
        metrics["selection"] = self.selection
        if self.selection == "english_dev":
            metrics["selected_epochs"] = [metrics.get("best_epoch")]
            return
        if not self._epochs:
            raise ConfigurationError(f"eapr_model_selection: no epoch of the last {self.window} finished, "
                                     "so there are no weights to select")
        if len(self._epochs) < self.window:
            logger.warning("eapr_model_selection: training stopped after epoch %d; averaging the %d epochs %s "
                           "instead of the last %d", self._epochs[-1], len(self._epochs), self._epochs, self.window)
        state = mean_state(self._sum, len(self._epochs))
        trainer.model.load_state_dict(state)
        if is_primary and self.serialization_dir:
            path = os.path.join(self.serialization_dir, "best.th")
            if os.path.exists(path):
                os.remove(path)  # may be a hard link to a checkpoint's file
            torch.save(state, path)
            trainer._best_model_filename = path
        metrics["selected_epochs"] = list(self._epochs)
        logger.info("eapr_model_selection: the archive holds the %s of epochs %s", self.selection, self._epochs)

    def state_dict(self) -> Dict[str, Any]:
        return {"sum": self._sum, "epochs": list(self._epochs)}

    def load_state_dict(self, state_dict: Dict[str, Any]) -> None:
        self._sum, self._epochs = state_dict["sum"], list(state_dict["epochs"])
