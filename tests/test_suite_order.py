"""The suite's own scheduling (tests/support/durations.py): longest test files first, and the
recorder that writes the seconds it orders by."""
import json
from types import SimpleNamespace

from tests.support.durations import DURATIONS, ROOT, DurationRecorder, order_by_duration, recorded


def items(*nodeids):
    return [SimpleNamespace(nodeid=nodeid) for nodeid in nodeids]


def test_files_start_longest_first_unknown_first_and_keep_their_tests_in_order():
    collected = items("tests/a.py::one", "tests/a.py::two", "tests/b.py::one", "tests/c.py::one",
                      "tests/new.py::one", "tests/c.py::two[x]", "tests/d.py::one")
    seconds = {"tests/a.py": 3.0, "tests/b.py": 90.0, "tests/c.py": 30.0, "tests/d.py": 30.0}
    ordered = [item.nodeid for item in order_by_duration(collected, seconds)]
    assert ordered == ["tests/new.py::one", "tests/b.py::one", "tests/c.py::one", "tests/c.py::two[x]",
                       "tests/d.py::one", "tests/a.py::one", "tests/a.py::two"]
    assert [item.nodeid for item in order_by_duration(collected, {})] == \
           ["tests/a.py::one", "tests/a.py::two", "tests/b.py::one", "tests/c.py::one", "tests/c.py::two[x]",
            "tests/new.py::one", "tests/d.py::one"]  # nothing recorded: files in collection order, grouped


def test_the_recorder_sums_every_phase_per_file_and_keeps_existing_files_it_did_not_run(tmp_path):
    path = tmp_path / "durations.json"
    path.write_text(json.dumps({"tests/old.py": 7.0, "tests/a.py": 1.0, "tests/gone.py": 5.0}))
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "old.py").write_text("")
    recorder = DurationRecorder(path, root=tmp_path)
    for nodeid, duration in (("tests/a.py::one", 0.25), ("tests/a.py::one", 2.0), ("tests/a.py::two[p]", 0.5),
                             ("tests/b.py::one", 4.04)):
        recorder.pytest_runtest_logreport(SimpleNamespace(nodeid=nodeid, duration=duration))
    recorder.pytest_sessionfinish(SimpleNamespace(config=SimpleNamespace(workerinput={})), 0)
    assert json.loads(path.read_text()) == {"tests/old.py": 7.0, "tests/a.py": 1.0, "tests/gone.py": 5.0}  # a worker writes nothing
    recorder.pytest_sessionfinish(SimpleNamespace(config=SimpleNamespace()), 0)
    assert json.loads(path.read_text()) == {"tests/a.py": 2.8, "tests/b.py": 4.0, "tests/old.py": 7.0}
    assert recorded(tmp_path / "absent.json") == {}


def test_the_recorded_durations_name_files_that_exist():
    # a file renamed or deleted leaves a stale entry that orders nothing: refresh with `make test-durations`
    seconds = recorded()
    assert seconds, f"{DURATIONS} is missing or empty: `make test-durations` writes it"
    assert [name for name in sorted(seconds) if not (ROOT / name).is_file()] == []
