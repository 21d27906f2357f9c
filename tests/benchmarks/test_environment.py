"""`benchmarks/environment.py`: the one description of where a benchmark ran."""
from unittest.mock import patch

from tests.support.cli import load_script


def test_machine_description_names_the_gpu_or_says_none_was_used():
    environment = load_script("benchmarks/environment.py")
    assert environment.machine().endswith(", no GPU used")
    assert ", torch threads " in environment.machine(threads=True)
    with patch("torch.cuda.is_available", return_value=True), \
            patch("torch.cuda.get_device_name", return_value="NVIDIA H100 80GB HBM3"):
        assert environment.machine(0).endswith(", GPU NVIDIA H100 80GB HBM3")
    with patch("torch.cuda.is_available", return_value=False):
        assert environment.machine(0).endswith(", GPU 0 (its name unknown: no GPU where this was written)")
    assert set(environment.versions()) == {"torch", "transformers", "allennlp", "python"}
