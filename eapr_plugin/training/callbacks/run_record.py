import json
import logging
import os
import sys
from typing import Any, Dict, Optional, Tuple

from allennlp.common.util import dump_metrics
from allennlp.training.callbacks.callback import TrainerCallback

from eapr_plugin.models.archival import RUN_RECORD, RUN_STATUS

logger = logging.getLogger(__name__)


@TrainerCallback.register("eapr_run_record")
class RunRecord(TrainerCallback):
    """
    The record of a run, in the run folder, for whoever cites or scores it.

    - `run_record.jsonl`: one line per finished epoch, the epoch, the optimizer steps taken so far
      (AllenNLP counts one per batch group of `num_gradient_accumulation_steps` batches) and the
      epoch's validation metrics (the English dev curve with the recipes). With `metrics.json`'s
      `best_epoch` this is what a reader needs to see the budget of a run and whether it was
      under-trained: steps, the selected epoch, the curve. A run resumed with `--recover` keeps
      only the lines of the epochs its checkpoint holds, so every epoch has exactly one line.
    - `run_status.json`: whether training finished (`finished`), what stopped it otherwise
      (`stopped_by`: `KeyboardInterrupt`, AllenNLP's `SigTermReceived`, an error), the epochs
      completed of `num_epochs`, and the optimizer steps. It reads `finished: false` from the start of
      training until training returns, so a run killed outright (SIGKILL) says so too.

    A run resumed from a checkpoint taken inside an epoch (`save_every_num_batches`) gets the same
    weights and validation metrics as an uninterrupted run, but AllenNLP keeps no running sums in a
    checkpoint: that epoch's `training_*` metrics cover only the batches after the checkpoint, and its
    `training_loss` (and `training_reg_loss`) is their sum divided by the epoch's full batch count.
    This callback warns when training resumes so, scales those two losses to the mean over the
    batches that ran (in `metrics_epoch_N.json`, and in `metrics.json` when it is the last epoch),
    and marks the epoch's line in `run_record.jsonl` with `training_metrics_after_batch`: the
    batches of the epoch its training metrics leave out.

    The recipes put both files into `model.tar.gz` (`include_in_archive`). That matters because
    `allennlp train` archives an interrupted run too (Ctrl-C, SIGTERM: "Training interrupted by the
    user. Attempting to create a model archive using the current best epoch weights"), an archive
    otherwise indistinguishable from a finished one; AllenNLP 2.10 writes it without the
    `include_in_archive` files, which tells it apart. `eapr_plugin.models.archival` reads the status
    back: loading an unfinished run's archive warns, and `evaluate-languages` refuses it unless told
    `--allow-unfinished`.

    Registered as a `TrainerCallback` with name "eapr_run_record".
    """

    _resumed_within: Optional[Tuple[int, int]] = None  # (epoch, batches done) of a checkpoint inside an epoch

    def on_start(self, trainer, is_primary: bool = True, **kwargs) -> None:
        kept = trainer._start_after_epochs_completed  # > 0 when `--recover` restored a checkpoint
        within = trainer._start_after_batches_in_epoch_completed  # > 0: restored from inside an epoch
        self._resumed_within = (kept, within) if within else None
        if not is_primary or not self.serialization_dir:
            return
        if within:
            logger.warning("resumed from a checkpoint inside epoch %d, after %d of its batches: that epoch's "
                           "training_* metrics cover only the batches after the checkpoint (AllenNLP keeps no "
                           "running sums in a checkpoint); its training loss is scaled to their mean and "
                           "%s marks the epoch. The weights and the validation metrics are exact.",
                           kept, within, RUN_RECORD)
        lines = []
        if kept and os.path.exists(self._path(RUN_RECORD)):
            with open(self._path(RUN_RECORD), encoding="utf-8") as handle:
                lines = [line for line in handle if line.strip() and json.loads(line)["epoch"] < kept]
        with open(self._path(RUN_RECORD), "w", encoding="utf-8") as handle:
            handle.writelines(lines)
        # the trainer counts the restored steps again only as it replays the checkpoint's batches
        steps = json.loads(lines[-1])["optimizer_steps"] if lines else trainer._total_batches_completed
        self._write_status(trainer, epochs_completed=kept, optimizer_steps=steps)

    def on_epoch(self, trainer, metrics: Dict[str, Any], epoch: int, is_primary: bool = True, **kwargs) -> None:
        if not is_primary or not self.serialization_dir or epoch < 0:
            return
        record = {"epoch": epoch, "optimizer_steps": trainer._total_batches_completed}
        if self._resumed_within and self._resumed_within[0] == epoch:
            record["training_metrics_after_batch"] = self._training_metrics_of_a_resumed_epoch(trainer, metrics, epoch)
        record.update({k: v for k, v in metrics.items() if k.startswith("validation_") or k == "training_loss"})
        with open(self._path(RUN_RECORD), "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
        self._write_status(trainer, epochs_completed=epoch + 1)

    def on_end(self, trainer, metrics: Dict[str, Any] = None, epoch: int = None, is_primary: bool = True,
               **kwargs) -> None:
        if not is_primary or not self.serialization_dir:
            return
        # AllenNLP calls this from a `finally:`; an exception on its way out is the reason training stopped
        error = sys.exc_info()[1]
        stopped_by = None if error is None else type(error).__name__ + (f": {error}" if str(error) else "")
        self._write_status(trainer, epochs_completed=trainer._epochs_completed,
                           finished=metrics is not None and error is None, stopped_by=stopped_by)

    def _training_metrics_of_a_resumed_epoch(self, trainer, metrics: Dict[str, Any], epoch: int) -> int:
        """AllenNLP divides the losses summed over the batches after the checkpoint by all of the
        epoch's batches (`_batches_in_epoch_completed`, per worker; both sides are summed over the
        workers, who all restored the same position): scaled here to the mean over the batches that
        ran, in the metrics dict (which becomes `metrics.json`) and in `metrics_epoch_N.json`, already
        written. Returns the number of the epoch's batches the training metrics leave out."""
        skipped = self._resumed_within[1]
        ran = trainer._batches_in_epoch_completed - skipped
        if ran > 0:  # none ran: AllenNLP reports no training metrics for the epoch
            for key in ("training_loss", "training_reg_loss"):
                if metrics.get(key) is not None:
                    metrics[key] = metrics[key] * trainer._batches_in_epoch_completed / ran
            path = self._path(f"metrics_epoch_{epoch}.json")
            if os.path.exists(path):
                dump_metrics(path, metrics)  # as the trainer wrote it, with the scaled losses
        return skipped

    def _path(self, name: str) -> str:
        return os.path.join(self.serialization_dir, name)

    def _write_status(self, trainer, epochs_completed: int, finished: bool = False,
                      stopped_by: Optional[str] = None, optimizer_steps: Optional[int] = None) -> None:
        steps = trainer._total_batches_completed if optimizer_steps is None else optimizer_steps
        status = {"finished": finished, "stopped_by": stopped_by, "epochs_completed": epochs_completed,
                  "num_epochs": trainer._num_epochs, "optimizer_steps": steps}
        partial = self._path(RUN_STATUS + ".partial")
        with open(partial, "w", encoding="utf-8") as handle:
            json.dump(status, handle, indent=1)
        os.replace(partial, self._path(RUN_STATUS))  # never a half-written status
