"""
A real `allennlp train` run killed with SIGKILL inside an epoch and resumed with `--recover`, beside
an uninterrupted run of the same recipe, and the checks that the two agree: the weights bit for
bit, every validation metric exactly, and the training metrics too: the checkpoint carries their
running sums (`eapr_run_record`), so the resumed epoch's are those of the uninterrupted run (its loss
to rounding: a sum taken in two parts, and with workers AllenNLP reduces the sums in float32). A checkpoint without those sums (`strip_metric_sums`: one
written before `eapr_run_record` carried them) gives the fallback `eapr_run_record` documents: the
resumed epoch's loss the mean over the batches after the checkpoint, computed here from the
uninterrupted run's per-batch losses, and the epoch marked.
"""
import json
import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest
import torch
from allennlp.common import Params

from eapr_plugin.common.config_env import EXT_VARS
from eapr_plugin.models.archival import RUN_RECORD
from tests.support.cli import REPO, run_allennlp

CONFIG = "training_configs/xnli_eapr.jsonnet"
VOLATILE = re.compile(r"training_duration|.*_memory_MB")


def recipe_callbacks(env: Dict[str, str], config: str = CONFIG) -> List[Dict[str, Any]]:
    """The trainer callbacks the recipe builds under `env` (a test adds its own to these, not in their place)."""
    ext_vars = {**{name: "" for name in EXT_VARS}, **env}
    return Params.from_file(str(REPO / config), ext_vars=ext_vars).as_dict()["trainer"]["callbacks"]


def train(tmp_path: Path, name: str, env: Dict[str, str], kill_after_batches: int = 0,
          strip_metric_sums: bool = False) -> Optional[Tuple[int, int]]:
    """One run of the recipe in `tmp_path / name` with checkpoints every 2 batches and every
    batch's loss logged; with `kill_after_batches`, killed with SIGKILL after that many batches and
    resumed with `--recover`, returning the position it resumed from: (epoch, batches done in it).
    `strip_metric_sums` removes the training metrics' running sums from the checkpoint before resuming."""
    marker = tmp_path / f"{name}.killed"
    if not kill_after_batches:
        marker.write_text("no kill in this run")
    overrides = json.dumps({
        "trainer.checkpointer": {"save_every_num_batches": 2},
        "trainer.callbacks": recipe_callbacks(env) + [
            {"type": "eapr_test_kill", "after_batches": kill_after_batches, "marker": str(marker)},
            {"type": "eapr_test_batch_losses", "path": str(tmp_path / f"{name}.losses")}],
    })
    run_dir = tmp_path / name
    args = ["train", CONFIG, "-s", str(run_dir), "-o", overrides, "--include-package", "tests.support.callbacks"]
    first = run_allennlp(args, env, check=not kill_after_batches)
    if not kill_after_batches:
        return None
    # SIGKILL ends a single process with -9; with workers, the launcher exits with an error
    assert (first.returncode == -9 if not env.get("EAPR_CPU_WORKERS") else first.returncode > 0), first.stderr[-3000:]
    assert marker.exists()
    assert not (run_dir / "model.tar.gz").exists()
    position = max(tuple(map(int, re.fullmatch(r"training_state_e(\d+)_b(\d+)\.th", p.name).groups()))
                   for p in run_dir.glob("training_state_e*_b*.th"))  # the newest checkpoint
    newest = run_dir / f"training_state_e{position[0]}_b{position[1]}.th"
    state = torch.load(newest)
    carried = [callback for callback in state["callbacks"] if "workers" in callback]  # eapr_run_record's
    assert len(carried) == 1 and carried[0]["position"] == list(position)
    if strip_metric_sums:
        state["callbacks"] = [{} if "workers" in callback else callback for callback in state["callbacks"]]
        torch.save(state, newest)
    run_allennlp(args + ["--recover"], env)
    logs = "".join(path.read_text() for path in run_dir.glob("out*.log"))  # AllenNLP's log (of each worker)
    inside = position[1] > 0
    assert ("training_* metrics cover only the batches after the checkpoint" in logs) == (inside and strip_metric_sums)
    assert ("with the running sums of its training metrics" in logs) == (inside and not strip_metric_sums)
    return position


def stable(metrics: Dict[str, Any], training: bool = True) -> Dict[str, Any]:
    """`metrics` without the timings and memory sizes (and without `training_*` where not `training`)."""
    return {k: v for k, v in metrics.items()
            if not VOLATILE.fullmatch(k) and (training or not k.startswith("training_"))}


def without_loss(metrics: Dict[str, Any]) -> Dict[str, Any]:
    """`metrics` without the training loss (after a resume a sum in two parts: equal to rounding)."""
    return {k: v for k, v in metrics.items() if k != "training_loss"}


def batch_losses(tmp_path: Path, name: str) -> List[Dict[str, Any]]:
    return [json.loads(line) for path in sorted(tmp_path.glob(f"{name}.losses.*.jsonl"))
            for line in path.read_text().splitlines()]


def assert_resumed_run_matches(tmp_path: Path, epochs: int, position: Tuple[int, int],
                               strip_metric_sums: bool = False) -> None:
    """The run "resumed" against the uninterrupted "plain" (see the module's docstring), the former
    resumed from `position`: (epoch, batches done in it), with the checkpoint's metric sums or,
    with `strip_metric_sums`, without them."""
    resumed_epoch, batches_skipped = position
    assert batches_skipped > 0  # resumed from inside an epoch, not from an epoch's end
    plain, resumed = tmp_path / "plain", tmp_path / "resumed"
    final = f"model_state_e{epochs}_b0.th"
    plain_weights, resumed_weights = torch.load(plain / final), torch.load(resumed / final)
    for name, tensor in plain_weights.items():
        assert torch.equal(tensor, resumed_weights[name]), name
    losses = batch_losses(tmp_path, "plain")
    records = {name: [json.loads(line) for line in (run / RUN_RECORD).read_text().splitlines()]
               for name, run in (("plain", plain), ("resumed", resumed))}
    for epoch in range(epochs):
        one, two = (json.loads((run / f"metrics_epoch_{epoch}.json").read_text()) for run in (plain, resumed))
        assert stable(one, training=False) == stable(two, training=False)
        mean_of_epoch = [item["loss"] for item in losses if item["epoch"] == epoch]
        assert one["training_loss"] == pytest.approx(sum(mean_of_epoch) / len(mean_of_epoch), rel=1e-6)
        if epoch != resumed_epoch or not strip_metric_sums:
            assert two["training_loss"] == pytest.approx(one["training_loss"], rel=1e-6)
            assert without_loss(stable(one)) == without_loss(stable(two))  # accuracies, term averages: exact
            assert "training_metrics_after_batch" not in records["resumed"][epoch]
            assert records["resumed"][epoch]["training_loss"] == two["training_loss"]
            continue
        after = [item["loss"] for item in losses if item["epoch"] == epoch and item["batch"] > batches_skipped]
        assert two["training_loss"] == pytest.approx(sum(after) / len(after), rel=1e-6)
        assert records["resumed"][epoch]["training_metrics_after_batch"] == batches_skipped
        assert records["resumed"][epoch]["training_loss"] == two["training_loss"]
    assert [{k: v for k, v in line.items() if k != "training_loss"} for line in records["plain"]] == \
           [{k: v for k, v in line.items() if k not in ("training_loss", "training_metrics_after_batch")}
            for line in records["resumed"]]
    # metrics.json carries the last epoch's training metrics: the same unless that epoch was the
    # resumed one and the checkpoint had no sums
    one, two = (json.loads((run / "metrics.json").read_text()) for run in (plain, resumed))
    same_training = resumed_epoch != epochs - 1 or not strip_metric_sums
    assert without_loss(stable(one, training=same_training)) == without_loss(stable(two, training=same_training))
    if same_training:
        assert two["training_loss"] == pytest.approx(one["training_loss"], rel=1e-6)
    else:
        last = json.loads((resumed / f"metrics_epoch_{resumed_epoch}.json").read_text())
        assert two["training_loss"] == last["training_loss"]
