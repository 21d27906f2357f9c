"""
Test-only start-up hook: a folder on `PYTHONPATH` holding this file makes every Python process
started with that environment run it (Python imports `sitecustomize` at start-up). With
`EAPR_TEST_KILL_AFTER_SAVE=NAME` and `EAPR_TEST_KILL_MARKER=PATH` set, the process sends itself
SIGKILL right after `torch.save` has written a file named NAME, once: the marker records the kill,
so a process started again with the same environment runs to its end.

It kills a run that a script starts in its own subprocess (e.g. `benchmarks/accuracy.py`'s
`allennlp train`) at a checkpoint, without changing the run's config, which `allennlp train
--recover` requires to be the one it was started with (the `eapr_test_kill` callback in
`tests/support/callbacks.py` is part of the config, so it serves tests that call `allennlp train`
themselves).
"""
import os

if os.environ.get("EAPR_TEST_KILL_AFTER_SAVE"):
    import signal
    from pathlib import Path

    import torch

    _save = torch.save

    def _save_then_kill(obj, f, *args, **kwargs):
        _save(obj, f, *args, **kwargs)
        marker = Path(os.environ["EAPR_TEST_KILL_MARKER"])
        if (isinstance(f, (str, os.PathLike)) and Path(f).name == os.environ["EAPR_TEST_KILL_AFTER_SAVE"]
                and not marker.exists()):
            marker.write_text(f"SIGKILL after writing {f}\n")
            os.kill(os.getpid(), signal.SIGKILL)

    torch.save = _save_then_kill
