"""`benchmarks/accuracy.py` resuming a run killed mid-training, for real: the harness's
`allennlp train` is killed with SIGKILL right after it has saved the checkpoint of the epoch an
uninterrupted run of the same seed selects (`tests/support/kill_hook`), the moment before AllenNLP
would write that epoch's weights to `best.th`, and the same command run again resumes it with
`--recover` and reports what the uninterrupted run reports: the same weights, test predictions,
dev curve, selected epoch and optimizer steps (`eapr_model_selection` restores `best.th`)."""
import json
import os
from pathlib import Path

import pytest
import torch

from tests.support.cli import REPO, run_script

KILL_HOOK = REPO / "tests" / "support" / "kill_hook"


@pytest.mark.slow
def test_a_killed_run_resumes_to_the_uninterrupted_result(tiny_encoders, synonym_table, sib200_data, tmp_path):
    def accuracy(runs: str, env=None, check=True):
        return run_script("benchmarks/accuracy.py", [
            "--protocol", "sib200", "--data-dir", str(sib200_data), "--encoder", tiny_encoders["tiny-bert"],
            "--synonyms", synonym_table, "--methods", "eapr", "--seeds", "1", "--epochs", "3",
            "--num-perturbations", "1", "--max-length", "32", "--batch-size", "8",
            "--runs-dir", str(tmp_path / runs), "--out", str(tmp_path / f"{runs}.json")], env=env, check=check)

    accuracy("uninterrupted")
    selected = json.loads((tmp_path / "uninterrupted.json").read_text())["records"]["eapr"]["1"]["selected_epoch"]
    checkpoint = f"training_state_e{selected + 1}_b0.th"  # the end of the epoch English dev selects
    marker = tmp_path / "killed"
    kill = {"PYTHONPATH": os.pathsep.join(filter(None, [str(KILL_HOOK), os.environ.get("PYTHONPATH")])),
            "EAPR_TEST_KILL_AFTER_SAVE": checkpoint, "EAPR_TEST_KILL_MARKER": str(marker)}
    first = accuracy("resumed", kill, check=False)
    assert first.returncode != 0 and marker.exists(), first.stderr[-3000:]
    run_dir = tmp_path / "resumed" / "sib200" / "eapr_a0.1_b1.0_e3_p1_seed1"
    assert (run_dir / checkpoint).exists() and not (run_dir / "metrics.json").exists()
    assert not (tmp_path / "resumed.json").exists()  # no report from a run that did not finish

    second = accuracy("resumed", kill)  # the marker is there: this time the run goes to its end
    assert "eapr_a0.1_b1.0_e3_p1_seed1: resuming an interrupted run (`allennlp train --recover`)" in second.stdout
    assert not list(run_dir.glob("training_state_e*.th"))  # removed once the resumed run finished
    # the archive holds the selected epoch's weights, as the uninterrupted run's does
    best = [torch.load(tmp_path / runs / "sib200" / "eapr_a0.1_b1.0_e3_p1_seed1" / "best.th")
            for runs in ("uninterrupted", "resumed")]
    assert best[0].keys() == best[1].keys() and all(torch.equal(best[0][k], best[1][k]) for k in best[0])
    # one log, appended: the killed process's epochs up to the selected one, then AllenNLP's recovery
    killed, recovered = Path(f"{run_dir}.train.log").read_text().split("Recovering from prior training at")
    assert f"Epoch {selected}/2" in killed and f"Epoch {selected + 1}/2" not in killed
    assert f"best.th set to epoch {selected}'s weights" in recovered
    assert all(f"Epoch {epoch}/2" in recovered for epoch in range(selected + 1, 3))

    uninterrupted, resumed = (json.loads((tmp_path / f"{runs}.json").read_text())
                              for runs in ("uninterrupted", "resumed"))
    assert resumed["summary"]["eapr"]["per_language"] == uninterrupted["summary"]["eapr"]["per_language"]
    assert resumed["summary"]["eapr"]["optimizer_steps"] == uninterrupted["summary"]["eapr"]["optimizer_steps"]
    for key in ("epochs", "dev_curve", "selected_epoch", "optimizer_steps"):
        assert resumed["records"]["eapr"]["1"][key] == uninterrupted["records"]["eapr"]["1"][key], key
    # the same test examples right, language by language
    predictions = [json.loads((tmp_path / runs / "sib200" / "eapr_a0.1_b1.0_e3_p1_seed1" / "languages"
                               / "metrics.json").read_text())["languages"] for runs in ("uninterrupted", "resumed")]
    assert {lang: r["correct"] for lang, r in predictions[0].items()} == \
           {lang: r["correct"] for lang, r in predictions[1].items()}
