"""Test-only trainer callbacks (load with `--include-package tests.support.callbacks` from the project root)."""
import os
import signal
from pathlib import Path

from allennlp.training.callbacks.callback import TrainerCallback


@TrainerCallback.register("eapr_test_kill")
class KillOnce(TrainerCallback):
    """
    SIGKILLs its own training process once, after `after_batches` training batches in total, to
    test `--recover`; `marker` records that the kill happened, so the resumed run goes on.
    """

    def __init__(self, serialization_dir: str, after_batches: int, marker: str) -> None:
        super().__init__(serialization_dir)
        self.after_batches = after_batches
        self.marker = marker

    def on_batch(self, trainer, batch_inputs, batch_outputs, batch_metrics, epoch, batch_number,
                 is_training, is_primary=True, batch_grad_norm=None, **kwargs) -> None:
        if is_training and trainer._total_batches_completed >= self.after_batches and not os.path.exists(self.marker):
            Path(self.marker).write_text(f"killed after {trainer._total_batches_completed} batches\n")
            os.kill(os.getpid(), signal.SIGKILL)
