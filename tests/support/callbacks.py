"""Test-only trainer callbacks (load with `--include-package tests.support.callbacks` from the project root)."""
import json
import os
import signal as signals
from pathlib import Path

from allennlp.training.callbacks.callback import TrainerCallback


@TrainerCallback.register("eapr_test_kill")
class KillOnce(TrainerCallback):
    """
    Sends its own training process `signal` once, at the first training batch after both
    `after_batches` training batches in total and `after_epochs` finished epochs, to test
    `--recover` (SIGKILL: nothing runs after it) and AllenNLP's archive of an interrupted run
    (SIGTERM: AllenNLP's handler raises `SigTermReceived`, and `allennlp train` archives the best
    epoch so far); `marker` records that the signal was sent, so the resumed run goes on.
    """

    def __init__(self, serialization_dir: str, marker: str, after_batches: int = 0, after_epochs: int = 0,
                 signal: str = "SIGKILL") -> None:
        super().__init__(serialization_dir)
        self.after_batches = after_batches
        self.after_epochs = after_epochs
        self.marker = marker
        self.signal = getattr(signals, signal)

    def on_batch(self, trainer, batch_inputs, batch_outputs, batch_metrics, epoch, batch_number,
                 is_training, is_primary=True, batch_grad_norm=None, **kwargs) -> None:
        due = trainer._total_batches_completed >= self.after_batches and trainer._epochs_completed >= self.after_epochs
        if is_training and due and not os.path.exists(self.marker):
            Path(self.marker).write_text(f"{self.signal.name} after {trainer._total_batches_completed} batches\n")
            os.kill(os.getpid(), self.signal)


@TrainerCallback.register("eapr_test_batch_losses")
class BatchLosses(TrainerCallback):
    """
    Appends every training batch's loss to `{path}.{rank}.jsonl` (one file per worker), one line per
    batch: the epoch, the batch's number within it (from 1, as the trainer counts) and `batch_loss`.
    Tests compute a resumed epoch's training loss from an uninterrupted run's lines.
    """

    def __init__(self, serialization_dir: str, path: str) -> None:
        super().__init__(serialization_dir)
        self.path = path

    def on_batch(self, trainer, batch_inputs, batch_outputs, batch_metrics, epoch, batch_number,
                 is_training, is_primary=True, batch_grad_norm=None, **kwargs) -> None:
        if is_training:
            with open(f"{self.path}.{trainer._rank}.jsonl", "a", encoding="utf-8") as handle:
                handle.write(json.dumps({"epoch": epoch, "batch": batch_number, "loss": batch_metrics["batch_loss"]}) + "\n")
