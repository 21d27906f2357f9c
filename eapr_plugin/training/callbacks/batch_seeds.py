import hashlib
from typing import Any, Dict, List

import numpy
import torch
from allennlp.training.callbacks.callback import TrainerCallback


def batch_seed(seed: int, epoch: int, batches_completed: int) -> int:
    digest = hashlib.sha256(f"{seed}|{epoch}|{batches_completed}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


@TrainerCallback.register("eapr_batch_seeds")
class BatchSeeds(TrainerCallback):
    """
    Makes a run resumable bit for bit: before every training batch, torch's global generator (and
    numpy's) is seeded from `(seed, epoch, batches completed in the epoch)`. Dropout masks then
    depend only on the batch's position, not on what ran before it, so a run killed mid-epoch and
    continued with `allennlp train --recover` (which skips the batches already done, without a
    forward pass) draws the same masks as an uninterrupted run. Python's `random`, which AllenNLP's
    data loaders use for shuffling, is left alone: AllenNLP replays the data loader on recovery,
    which reproduces the shuffles, and EAPR's perturbation uses its own seeded generators.

    Registered as a `TrainerCallback` with name "eapr_batch_seeds".

    # Parameters

    serialization_dir : `str`
        Filled in by the trainer.
    seed : `int`, optional (default = `7`)
    """

    def __init__(self, serialization_dir: str, seed: int = 7) -> None:
        super().__init__(serialization_dir)
        self.seed = seed

    def _seed_next_batch(self, epoch: int, batches_completed: int) -> None:
        value = batch_seed(self.seed, epoch, batches_completed)
        torch.manual_seed(value)
        numpy.random.seed(value)

    def on_start(self, trainer, is_primary: bool = True, **kwargs) -> None:
        # After a --recover, the trainer has restored its position from the checkpoint.
        self._seed_next_batch(
            trainer._start_after_epochs_completed, trainer._start_after_batches_in_epoch_completed
        )

    def on_batch(
        self,
        trainer,
        batch_inputs: List[Dict[str, Any]],
        batch_outputs: List[Dict[str, Any]],
        batch_metrics: Dict[str, Any],
        epoch: int,
        batch_number: int,
        is_training: bool,
        is_primary: bool = True,
        batch_grad_norm=None,
        **kwargs,
    ) -> None:
        if is_training:
            self._seed_next_batch(epoch, batch_number)

    def on_epoch(self, trainer, metrics: Dict[str, Any], epoch: int, is_primary: bool = True, **kwargs) -> None:
        self._seed_next_batch(epoch + 1, 0)
