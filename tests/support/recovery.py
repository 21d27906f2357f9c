"""
A real `allennlp train` run killed with SIGKILL inside an epoch and resumed with `--recover`, beside
an uninterrupted run of the same recipe, and the checks that the two agree: the weights bit for
bit, every validation metric exactly, and the resumed epoch's training metrics as
`eapr_run_record` documents them (the loss the mean over the batches after the checkpoint,
computed here from the uninterrupted run's per-batch losses).
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


def train(tmp_path: Path, name: str, env: Dict[str, str], kill_after_batches: int = 0) -> Optional[Tuple[int, int]]:
    """One run of the recipe in `tmp_path / name` with checkpoints every 2 batches and every
    batch's loss logged; with `kill_after_batches`, killed with SIGKILL after that many batches and
    resumed with `--recover`, returning the position it resumed from: (epoch, batches done in it)."""
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
    run_allennlp(args + ["--recover"], env)
    logs = "".join(path.read_text() for path in run_dir.glob("out*.log"))  # AllenNLP's log (of each worker)
    assert ("training_* metrics cover only the batches after the checkpoint" in logs) == (position[1] > 0)
    return position


def stable(metrics: Dict[str, Any], training: bool = True) -> Dict[str, Any]:
    """`metrics` without the timings and memory sizes (and without `training_*` where not `training`)."""
    return {k: v for k, v in metrics.items()
            if not VOLATILE.fullmatch(k) and (training or not k.startswith("training_"))}


def batch_losses(tmp_path: Path, name: str) -> List[Dict[str, Any]]:
    return [json.loads(line) for path in sorted(tmp_path.glob(f"{name}.losses.*.jsonl"))
            for line in path.read_text().splitlines()]


def assert_resumed_run_matches(tmp_path: Path, epochs: int, position: Tuple[int, int]) -> None:
    """The run "resumed" against the uninterrupted "plain" (see the module's docstring), the former
    resumed from `position`: (epoch, batches done in it)."""
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
        if epoch != resumed_epoch:
            assert stable(one) == stable(two)
            assert "training_metrics_after_batch" not in records["resumed"][epoch]
            continue
        after = [item["loss"] for item in losses if item["epoch"] == epoch and item["batch"] > batches_skipped]
        assert two["training_loss"] == pytest.approx(sum(after) / len(after), rel=1e-6)
        assert records["resumed"][epoch]["training_metrics_after_batch"] == batches_skipped
        assert records["resumed"][epoch]["training_loss"] == two["training_loss"]
    assert [{k: v for k, v in line.items() if k != "training_loss"} for line in records["plain"]] == \
           [{k: v for k, v in line.items() if k not in ("training_loss", "training_metrics_after_batch")}
            for line in records["resumed"]]
    # metrics.json carries the last epoch's training metrics: identical unless that epoch was the resumed one
    one, two = (json.loads((run / "metrics.json").read_text()) for run in (plain, resumed))
    assert stable(one, training=resumed_epoch != epochs - 1) == stable(two, training=resumed_epoch != epochs - 1)
    if resumed_epoch == epochs - 1:
        last = json.loads((resumed / f"metrics_epoch_{resumed_epoch}.json").read_text())
        assert two["training_loss"] == last["training_loss"]
