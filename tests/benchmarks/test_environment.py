"""`benchmarks/environment.py`: the one description of where a benchmark ran."""
import importlib.util
from unittest.mock import patch

from tests.support.cli import REPO


def test_machine_description_names_the_gpu_or_says_none_was_used():
    spec = importlib.util.spec_from_file_location("environment", REPO / "benchmarks" / "environment.py")
    environment = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(environment)
    assert environment.machine().endswith(", no GPU used")
    assert ", torch threads " in environment.machine(threads=True)
    with patch("torch.cuda.is_available", return_value=True), \
            patch("torch.cuda.get_device_name", return_value="NVIDIA H100 80GB HBM3"):
        assert environment.machine(0).endswith(", GPU NVIDIA H100 80GB HBM3")
    with patch("torch.cuda.is_available", return_value=False):
        assert environment.machine(0).endswith(", GPU 0 (its name unknown: no GPU where this was written)")
    assert set(environment.versions()) == {"torch", "transformers", "allennlp", "python"}
