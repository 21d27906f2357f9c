import json
import logging
import os
import pickle
import sys
from typing import Any, Dict, List, Optional, Tuple

import torch.distributed as dist
from allennlp.common.util import dump_metrics
from allennlp.training.callbacks.callback import TrainerCallback

from eapr_plugin.models.archival import RUN_RECORD, RUN_STATUS
from eapr_plugin.training.metrics.running_state import restore_running_state, running_state

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
    weights and validation metrics as an uninterrupted run (`eapr_batch_seeds`), and with this callback
    the same training metrics too. AllenNLP keeps no running sums in a checkpoint: it would report that
    epoch's `training_*` metrics over the batches after the checkpoint only, and its `training_loss`
    (and `training_reg_loss`) as their sum divided by the epoch's full batch count. So this callback
    puts into every checkpoint, as its own state, each worker's running state of the model's metrics
    (`eapr_plugin.training.metrics.running_state`) and its sum of the epoch's batch losses so far;
    on `--recover` each worker takes its own back, and the resumed epoch's loss gets the checkpoint's
    share added (the workers' sums over the worker-batches AllenNLP divides by). With distributed
    workers, who each hold their own sums while only the first writes the checkpoint, the workers
    gather their states at every checkpoint (one all-gather); that needs every worker to save at the
    same batches, so with `save_every_num_seconds` (each worker's own clock) the states are not carried.
    Where there is no state to take back (that case, or a checkpoint written before this callback
    carried one) the callback warns when training resumes, scales the two losses to the mean over
    the batches that ran (in `metrics_epoch_N.json`, and in `metrics.json` when it is the last epoch),
    and marks the epoch's line in `run_record.jsonl` with `training_metrics_after_batch`: the batches
    of the epoch its training metrics leave out.

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

    def __init__(self, serialization_dir: str) -> None:
        super().__init__(serialization_dir)
        self._trainer = None
        self._loss_sums = [0.0, 0.0]  # this worker's training loss and reg loss summed over the epoch's batches
        self._restored: Dict[str, Any] = {}  # what load_state_dict found in the checkpoint
        self._gathered: Optional[List[Dict[str, Any]]] = None  # every worker's state at this checkpoint
        self._checkpoint_share: Optional[List[float]] = None  # the workers' loss sums before the checkpoint
        self._warned_unsaveable = False

    def on_start(self, trainer, is_primary: bool = True, **kwargs) -> None:
        self._trainer = trainer
        kept = trainer._start_after_epochs_completed  # > 0 when `--recover` restored a checkpoint
        within = trainer._start_after_batches_in_epoch_completed  # > 0: restored from inside an epoch
        checkpointer = trainer._checkpointer
        if trainer._distributed and checkpointer is not None:
            # AllenNLP's Checkpointer: saves at epoch ends and every N batches are at the same batch on
            # every worker; a clock or another checkpointer class may not be
            if getattr(checkpointer, "_save_every_num_seconds", "unknown") is None:
                save = checkpointer.save_checkpoint

                def gather_then_save(trainer_):  # every worker calls it at the same batch (see below)
                    self._gathered = [None] * trainer_._world_size
                    dist.all_gather_object(self._gathered, self._worker_state(trainer_))
                    save(trainer_)
                    # AllenNLP 2.10's save_checkpoint returns on the other workers before it notes the
                    # position saved, so their maybe_save_checkpoint would then call it at every batch
                    # past the first N: noted here as the first worker notes it, every worker decides alike
                    checkpointer._last_save_num_epochs_completed = trainer_._epochs_completed
                    checkpointer._last_save_num_batches_in_epoch_completed = trainer_._batches_in_epoch_completed

                checkpointer.save_checkpoint = gather_then_save
            elif is_primary:
                logger.warning("%s with distributed workers: the workers may save at different batches, so the "
                               "checkpoints do not carry their training metrics' running sums; an "
                               "epoch resumed from inside reports its training_* metrics over the batches after "
                               "the checkpoint only (marked in %s)",
                               "save_every_num_seconds" if hasattr(checkpointer, "_save_every_num_seconds")
                               else type(checkpointer).__name__, RUN_RECORD)
        self._resumed_within = None
        if within:
            self._resumed_within = (kept, within)
            if self._take_back(trainer, kept, within):
                self._resumed_within = None
                if is_primary:
                    logger.info("resumed from a checkpoint inside epoch %d, after %d of its batches, with the "
                                "running sums of its training metrics: the epoch's training_* metrics cover all "
                                "of its batches", kept, within)
            elif is_primary:
                logger.warning("resumed from a checkpoint inside epoch %d, after %d of its batches, that carries no "
                               "running sums of the training metrics: that epoch's training_* metrics cover only "
                               "the batches after the checkpoint; its training loss is scaled to their mean and "
                               "%s marks the epoch. The weights and the validation metrics are exact.",
                               kept, within, RUN_RECORD)
        if not is_primary or not self.serialization_dir:
            return
        lines = []
        if kept and os.path.exists(self._path(RUN_RECORD)):
            with open(self._path(RUN_RECORD), encoding="utf-8") as handle:
                lines = [line for line in handle if line.strip() and json.loads(line)["epoch"] < kept]
        with open(self._path(RUN_RECORD), "w", encoding="utf-8") as handle:
            handle.writelines(lines)
        # the trainer counts the restored steps again only as it replays the checkpoint's batches
        steps = json.loads(lines[-1])["optimizer_steps"] if lines else trainer._total_batches_completed
        self._write_status(trainer, epochs_completed=kept, optimizer_steps=steps)

    def on_batch(self, trainer, batch_inputs, batch_outputs, batch_metrics: Dict[str, Any], epoch: int,
                 batch_number: int, is_training: bool, is_primary: bool = True, **kwargs) -> None:
        if is_training:
            self._loss_sums[0] += batch_metrics.get("batch_loss") or 0.0
            self._loss_sums[1] += batch_metrics.get("batch_reg_loss") or 0.0

    def state_dict(self) -> Dict[str, Any]:
        """What a checkpoint keeps of the running training metrics: every worker's state (gathered
        at this checkpoint when distributed) and the position it belongs to."""
        trainer = self._trainer
        if trainer is None:
            return {}
        if trainer._distributed:
            workers, self._gathered = self._gathered, None
        else:
            workers = [self._worker_state(trainer)]
        if workers is None or any(worker["metrics"] is None for worker in workers):
            return {}  # not gathered (a clock), or a metric that cannot be saved: nothing exact to carry
        return {"position": [trainer._epochs_completed, trainer._batches_in_epoch_completed], "workers": workers}

    def load_state_dict(self, state_dict: Dict[str, Any]) -> None:
        self._restored = state_dict

    def _worker_state(self, trainer) -> Dict[str, Any]:
        metrics = running_state(trainer.model)
        try:
            pickle.dumps(metrics)  # what torch.save and all_gather_object do with it
        except Exception as error:  # a metric holding a lambda, a lock ...: the epoch is marked instead
            if not self._warned_unsaveable:
                self._warned_unsaveable = True
                logger.warning("the model's metrics cannot be saved in a checkpoint (%s): an epoch resumed from "
                               "inside will report its training_* metrics over the batches after the checkpoint only",
                               error)
            metrics = None
        return {"metrics": metrics, "loss_sums": list(self._loss_sums)}

    def _take_back(self, trainer, kept: int, within: int) -> bool:
        """This worker's running sums from the checkpoint it resumed from, when it carries them for
        this position and this number of workers."""
        workers = self._restored.get("workers")
        if self._restored.get("position") != [kept, within] or not workers or len(workers) != trainer._world_size:
            return False
        mine = workers[trainer._rank]
        if not restore_running_state(trainer.model, mine["metrics"]):
            return False
        self._loss_sums = list(mine["loss_sums"])
        # AllenNLP sums the workers' losses after the checkpoint; the sums before it are added on_epoch
        self._checkpoint_share = [sum(worker["loss_sums"][i] for worker in workers) for i in range(2)]
        return True

    def on_epoch(self, trainer, metrics: Dict[str, Any], epoch: int, is_primary: bool = True, **kwargs) -> None:
        share, self._checkpoint_share, self._loss_sums = self._checkpoint_share, None, [0.0, 0.0]
        if share is not None and epoch >= 0:
            self._add_checkpoint_share(trainer, metrics, epoch, share, is_primary)
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
            self._rewrite_epoch_metrics(epoch, metrics)  # as the trainer wrote it, with the scaled losses
        return skipped

    def _add_checkpoint_share(self, trainer, metrics: Dict[str, Any], epoch: int, share: List[float],
                              is_primary: bool) -> None:
        """The resumed epoch's losses: AllenNLP's sum over the batches after the checkpoint, divided by
        the epoch's worker-batches, plus the checkpoint's sums over the same count; written back to
        `metrics_epoch_N.json` (already written by the trainer) and the metrics dict (`metrics.json`)."""
        worker_batches = trainer._batches_in_epoch_completed * trainer._world_size
        for key, before in zip(("training_loss", "training_reg_loss"), share):
            if metrics.get(key) is not None:
                metrics[key] = metrics[key] + before / worker_batches
        if is_primary and self.serialization_dir:
            self._rewrite_epoch_metrics(epoch, metrics)

    def _rewrite_epoch_metrics(self, epoch: int, metrics: Dict[str, Any]) -> None:
        """`metrics_epoch_N.json`, already written by the trainer, again with the losses corrected here."""
        path = self._path(f"metrics_epoch_{epoch}.json")
        if os.path.exists(path):
            dump_metrics(path, metrics)

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
