import json
import os
from typing import Any, Dict

from allennlp.training.callbacks.callback import TrainerCallback


@TrainerCallback.register("eapr_run_record")
class RunRecord(TrainerCallback):
    """
    Appends one line per finished epoch to `SERIALIZATION_DIR/run_record.jsonl`: the epoch, the
    optimizer steps taken so far (AllenNLP counts one per batch group of
    `num_gradient_accumulation_steps` batches), and the epoch's validation metrics (the English dev
    curve with the recipes). With `metrics.json`'s `best_epoch` this is what a reader needs to see
    the budget of a run and whether it was under-trained: steps, the selected epoch, the curve.

    Registered as a `TrainerCallback` with name "eapr_run_record".
    """

    def on_epoch(self, trainer, metrics: Dict[str, Any], epoch: int, is_primary: bool = True, **kwargs) -> None:
        if not is_primary or not self.serialization_dir or epoch < 0:
            return
        record = {"epoch": epoch, "optimizer_steps": trainer._total_batches_completed,
                  **{k: v for k, v in metrics.items() if k.startswith("validation_") or k == "training_loss"}}
        with open(os.path.join(self.serialization_dir, "run_record.jsonl"), "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
