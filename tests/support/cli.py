"""The one way tests run the project's commands in a subprocess (the real CLI, offline)."""
import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Dict, Optional, Sequence

REPO = Path(__file__).resolve().parents[2]
OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


def run(command: Sequence[str], env: Optional[Dict[str, str]] = None, check: bool = True,
        cwd: Path = REPO, timeout: int = 900) -> subprocess.CompletedProcess:
    """Run `command` offline with `env` added to the environment; with `check`, a non-zero exit
    fails the test showing the command and the end of its stderr."""
    result = subprocess.run(list(command), cwd=cwd, capture_output=True, text=True, timeout=timeout,
                            env={**os.environ, **OFFLINE, **(env or {})})
    if check:
        assert result.returncode == 0, (
            f"{' '.join(map(str, command))} exited {result.returncode}:\n{result.stderr[-5000:]}"
        )
    return result


def run_allennlp(args: Sequence[str], env: Optional[Dict[str, str]] = None, check: bool = True,
                 cwd: Path = REPO) -> subprocess.CompletedProcess:
    """`allennlp ARGS` (the console entry point of the venv)."""
    return run([sys.executable, "-m", "allennlp", *map(str, args)], env, check, cwd)


def load_script(path: str) -> ModuleType:
    """A script of the project (`benchmarks/...`) imported as a module, to call its functions in the test."""
    spec = importlib.util.spec_from_file_location(Path(path).stem, REPO / path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_script(path: str, args: Sequence[str] = (), env: Optional[Dict[str, str]] = None,
               check: bool = True) -> subprocess.CompletedProcess:
    """A script of the project (`benchmarks/...`, `scripts/...`), run from the project root."""
    return run([sys.executable, path, *map(str, args)], env, check)
