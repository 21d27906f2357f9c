"""
Longest test files first. `make test` runs the suite in two pytest-xdist processes with
`--dist loadfile` (each file's tests in one process, so that a file's module fixtures are built
once). xdist hands out files in the order pytest collected them, and by default reorders them by
their number of tests, so a file with one 90-second subprocess test starts last and the other
process idles while it runs. `order_by_duration` sorts the collected tests file by file, longest
file first (the greedy longest-processing-time rule), by the seconds recorded in `tests/durations.json`;
files not recorded yet (new ones) go first, since their cost is unknown. The order of the tests
inside a file is kept. `make test-durations` runs the suite and rewrites the file (`--store-durations`).
"""
import json
from collections import defaultdict
from pathlib import Path
from typing import Dict, List

ROOT = Path(__file__).resolve().parents[2]  # pytest's rootdir: node ids are relative to it
DURATIONS = ROOT / "tests" / "durations.json"


def file_of(nodeid: str) -> str:
    """The test file of a pytest node id (`tests/a.py::test[p]` -> `tests/a.py`)."""
    return nodeid.split("::")[0]


def recorded(path: Path = DURATIONS) -> Dict[str, float]:
    """`{test file: seconds}` (paths as pytest's node ids spell them), or `{}` where none is recorded."""
    return json.loads(path.read_text()) if path.exists() else {}


def order_by_duration(items: List, seconds: Dict[str, float]) -> List:
    """`items` (collected tests) grouped by file, the longest recorded file first, unrecorded files
    before every recorded one, ties and the tests inside a file in collection order."""
    files: Dict[str, List] = defaultdict(list)
    for item in items:
        files[file_of(item.nodeid)].append(item)
    order = sorted(files, key=lambda name: -seconds.get(name, float("inf")))  # sorted() is stable
    return [item for name in order for item in files[name]]


class DurationRecorder:
    """Adds up every test phase's duration (set-up, call, tear-down) per file as the reports come in
    (under xdist the controller receives every worker's reports) and writes them at the end, beside
    the recorded files it did not run that still exist under `root`."""

    def __init__(self, path: Path = DURATIONS, root: Path = ROOT) -> None:
        self.path, self.root = path, root
        self.seconds: Dict[str, float] = defaultdict(float)

    def pytest_runtest_logreport(self, report) -> None:
        self.seconds[file_of(report.nodeid)] += report.duration

    def pytest_sessionfinish(self, session, exitstatus) -> None:
        if hasattr(session.config, "workerinput"):  # an xdist worker: the controller writes
            return
        kept = {name: value for name, value in recorded(self.path).items() if (self.root / name).is_file()}
        kept.update({name: round(value, 1) for name, value in self.seconds.items()})
        self.path.write_text(json.dumps(dict(sorted(kept.items())), indent=1) + "\n")
