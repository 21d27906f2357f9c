"""
Re-select a finished run's weights after training: archive its last epoch (`last`) or the uniform
average of its last K epochs (`average`) beside the run's own `model.tar.gz`, without training
again. The weights a run makes do not depend on the selection, so the archive is the one
`EAPR_SELECTION=last` / `average` would have written (same averaging, `eapr_model_selection`'s
`add_state` / `mean_state`), when the epochs it needs were kept.

AllenNLP's checkpointer keeps the last two epochs' weights (`model_state_e{E}_b0.th`, E = epochs
completed): `last` and `average` with K ≤ 2 are always possible on a finished run, a larger K only
where the run kept more. A missing checkpoint is named, never replaced by another.

    python scripts/reselect.py RUN_DIR --selection last
    python scripts/reselect.py RUN_DIR --selection average --average-last 2

writes `RUN_DIR/model_last.tar.gz` or `RUN_DIR/model_average2.tar.gz` (with `weights_*.th`) and a
`reselect_*.json` naming the epochs it holds; `allennlp evaluate-languages` scores it like any
archive. Target-language ("oracle") selection is not offered: it needs every epoch scored on
target dev sets during training (`accuracy.py --oracle`).
"""
import argparse
import json
import sys
from pathlib import Path
from typing import Dict, List

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def archive_name(selection: str, average_last: int = 2) -> str:
    """The selection's name in its files (`model_{name}.tar.gz`, `weights_{name}.th`): `last`, `average{K}`."""
    return "last" if selection == "last" else f"average{average_last}"


def selected_epochs(run_dir: Path, selection: str, average_last: int) -> List[int]:
    """The 1-based epochs (= AllenNLP's completed-epoch count) whose weights the selection holds."""
    if not (run_dir / "metrics.json").exists():
        raise SystemExit(f"{run_dir}: no metrics.json, so `allennlp train` has not finished this run (see its "
                         "run_status.json); `allennlp train CONFIG -s RUN_DIR --recover` finishes it")
    metrics = json.loads((run_dir / "metrics.json").read_text())
    final = metrics["epoch"] + 1
    window = 1 if selection == "last" else average_last
    if window < 1 or window > final:
        raise SystemExit(f"--average-last {average_last}: {run_dir} ran {final} epoch(s)")
    return list(range(final - window + 1, final + 1))


def reselect(run_dir: Path, selection: str, average_last: int = 2) -> Path:
    import torch
    from allennlp.models.archival import archive_model

    from eapr_plugin.training.callbacks.model_selection import add_state, mean_state

    epochs = selected_epochs(run_dir, selection, average_last)
    files = [run_dir / f"model_state_e{epoch}_b0.th" for epoch in epochs]
    missing = [str(f) for f in files if not f.exists()]
    if missing:
        raise SystemExit(f"{selection}: {', '.join(missing)} not kept (AllenNLP's checkpointer keeps the last "
                         "`num_serialized_models_to_keep` epochs, 2 by default); this selection needs retraining "
                         "with EAPR_SELECTION")
    total: Dict[str, torch.Tensor] = None
    for path in files:
        total = add_state(total, torch.load(path, map_location="cpu"))
    name = archive_name(selection, average_last)
    weights = f"weights_{name}.th"
    torch.save(mean_state(total, len(files)), run_dir / weights)
    config = json.loads((run_dir / "config.json").read_text())
    archive = run_dir / f"model_{name}.tar.gz"
    partial = run_dir / f"model_{name}.tar.gz.partial"  # renamed when complete: a killed run leaves no archive
    archive_model(str(run_dir), weights=weights, archive_path=str(partial),
                  include_in_archive=config.get("include_in_archive"))
    partial.replace(archive)
    # 0-based epochs, as metrics.json's best_epoch and selected_epochs count them
    (run_dir / f"reselect_{name}.json").write_text(json.dumps(
        {"selection": selection, "selected_epochs": [e - 1 for e in epochs], "archive": archive.name}))
    return archive


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--selection", required=True, choices=["last", "average"])
    parser.add_argument("--average-last", type=int, default=2, help="average: how many final epochs")
    args = parser.parse_args()
    import eapr_plugin  # noqa: F401  (registers the plugin's classes for the archive's config)

    print(reselect(args.run_dir, args.selection, args.average_last))


if __name__ == "__main__":
    main()
