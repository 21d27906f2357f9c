"""`benchmarks/device/`: the encoder travels as 4-bit codes and comes back bit for bit (or the
unpacking fails naming the tensor), and the start-up stand-ins let AllenNLP import without spaCy
and the cloud clients."""
import json
import subprocess
import sys

import numpy
import pytest
from safetensors import safe_open
from safetensors.numpy import load_file, save_file

from tests.support.cli import REPO, load_script


def q4_tensor(rng, blocks):
    """Dequantized Q4_0 values: codes −8..7 times fp16 scales, negative scales included (0 × −s = −0.0)."""
    codes = rng.integers(-8, 8, size=(blocks, 32)).astype(numpy.float32)
    scales = (rng.uniform(0.001, 0.05, size=blocks) * rng.choice([-1, 1], size=blocks)).astype(numpy.float16)
    codes[0] = 0  # an all-zero block with a negative scale: −0.0 throughout
    scales[0] = -abs(scales[0])
    codes[1] = 0  # and one with a positive scale: +0.0
    scales[1] = abs(scales[1])
    return codes * scales.astype(numpy.float32)[:, None]


def test_q4_round_trip_is_bit_exact(tmp_path):
    rng = numpy.random.default_rng(0)
    tensors = {
        "emb.weight": q4_tensor(rng, 96).reshape(64, 48),
        "layer.dense.weight": q4_tensor(rng, 24).reshape(24, 32),
        "layer.norm.weight": rng.normal(size=64).astype(numpy.float32),  # no Q4 form: travels as is
        "odd.bias": rng.normal(size=7).astype(numpy.float32),  # not a whole number of blocks
    }
    assert numpy.signbit(tensors["emb.weight"].reshape(-1, 32)[0]).all()
    (tmp_path / "enc").mkdir()
    save_file(tensors, str(tmp_path / "enc" / "model.safetensors"))
    module = load_script("benchmarks/device/q4_transport.py")
    counts = module.pack(tmp_path / "enc", tmp_path / "enc.q4")
    assert counts == {"q4": 2, "as_is": 2}
    with safe_open(str(tmp_path / "enc.q4"), "np") as packed:
        assert packed.get_tensor("emb.weight.q").nbytes == 64 * 48 // 2  # 4 bits a value
    module.unpack(tmp_path / "enc.q4", tmp_path / "back")
    back = load_file(str(tmp_path / "back" / "model.safetensors"))
    assert set(back) == set(tensors)
    for name, tensor in tensors.items():
        assert back[name].shape == tensor.shape and back[name].tobytes() == tensor.tobytes(), name


def test_unpacking_a_tensor_that_does_not_rebuild_fails_naming_it(tmp_path):
    rng = numpy.random.default_rng(1)
    (tmp_path / "enc").mkdir()
    save_file({"w": q4_tensor(rng, 4)}, str(tmp_path / "enc" / "model.safetensors"))
    module = load_script("benchmarks/device/q4_transport.py")
    module.pack(tmp_path / "enc", tmp_path / "enc.q4")
    with safe_open(str(tmp_path / "enc.q4"), "np") as packed:
        metadata = packed.metadata()
        arrays = {name: packed.get_tensor(name) for name in packed.keys()}
    arrays["w.s"] = (arrays["w.s"] * 2).astype(numpy.float16)  # a damaged scale
    save_file(arrays, str(tmp_path / "bad.q4"), metadata=metadata)
    with pytest.raises(SystemExit, match="tensor w does not rebuild"):
        module.unpack(tmp_path / "bad.q4", tmp_path / "back")
    assert json.loads(metadata["tensors"])["w"]["q4"]


@pytest.mark.slow
def test_stand_ins_let_allennlp_start_without_spacy_and_cloud_clients():
    code = ("import spacy, botocore.exceptions; from google.cloud import storage; "
            "from spacy.tokens import Token; import allennlp.common.util, allennlp.data; "
            "print(type(spacy).__name__, issubclass(Token, Exception), storage.__name__)")
    env = {"PYTHONPATH": str(REPO / "benchmarks" / "device" / "stubs"), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["_Empty", "True", "google.cloud.storage"]
