"""
Carry an encoder folder of `scripts/offline_encoder.py` to a machine that takes little data (a lent
GPU machine took 64 MiB a call) and rebuild it there bit for bit.

The converted encoder's fp32 weights are dequantized Q4_0 blocks: every 32 consecutive values are
`code × scale` with `code` in −8..7 and `scale` an fp16 number (negative scales occur; `0 × −s` is
−0.0). `pack` finds each block's code and scale again and keeps 4 bits a value plus 2 bytes a block
(about an eighth of the fp32 file); a tensor that does not have that form (layer norms, biases,
position embeddings) travels as it is. `unpack` rebuilds every tensor and checks it against the
sha256 of the original recorded at packing, so a rebuilt folder is the packed one or an error.

    python benchmarks/device/q4_transport.py pack runs/bench/e5-6l-pxn carry/e5-6l-pxn.q4
    python benchmarks/device/q4_transport.py unpack carry/e5-6l-pxn.q4 runs/bench/e5-6l-pxn
(the folder's config and tokenizer files are copied beside by hand).
"""
import argparse
import hashlib
import json
from pathlib import Path
from typing import Dict, Optional, Tuple

import numpy
from safetensors import safe_open
from safetensors.numpy import load_file, save_file

BLOCK = 32


def sha256(array: numpy.ndarray) -> str:
    return hashlib.sha256(array.tobytes()).hexdigest()


def q4_blocks(tensor: numpy.ndarray) -> Optional[Tuple[numpy.ndarray, numpy.ndarray]]:
    """`(codes int8 [n, 32], scales fp16 [n])` with `codes × scales` equal to `tensor` bit for bit,
    or None where some block has no such form. A block's largest magnitude is `k × |scale|` for
    some k in 1..8, so the candidates are ±peak / k."""
    if tensor.dtype != numpy.float32 or tensor.size % BLOCK:
        return None
    blocks = tensor.reshape(-1, BLOCK)
    bits = blocks.view(numpy.uint32)
    peak = numpy.abs(blocks).max(axis=1)
    codes = numpy.zeros(blocks.shape, numpy.int8)
    scales = numpy.zeros(len(blocks), numpy.float16)
    found = (bits == 0).all(axis=1)  # +0.0 blocks: code 0, scale +0
    for k in range(1, 9):
        for sign in (1.0, -1.0):
            scale = (sign * peak / k).astype(numpy.float32)
            half = scale.astype(numpy.float16)
            with numpy.errstate(divide="ignore", invalid="ignore"):
                code = numpy.nan_to_num(numpy.rint(blocks / scale[:, None]))
            ok = ~found & (half.astype(numpy.float32) == scale) & (code >= -8).all(axis=1) & (code <= 7).all(axis=1)
            rebuilt = code.astype(numpy.int8).astype(numpy.float32) * half.astype(numpy.float32)[:, None]
            ok &= (rebuilt.view(numpy.uint32) == bits).all(axis=1)
            codes[ok], scales[ok] = code[ok].astype(numpy.int8), half[ok]
            found |= ok
    return (codes, scales) if found.all() else None


def pack(folder: Path, out: Path) -> Dict[str, int]:
    """Writes `out` (safetensors: `NAME.q` nibbles and `NAME.s` scales, or `NAME` as it was);
    returns how many tensors went each way."""
    arrays, meta, counts = {}, {}, {"q4": 0, "as_is": 0}
    for name, tensor in load_file(str(folder / "model.safetensors")).items():
        meta[name] = {"shape": list(tensor.shape), "sha256": sha256(tensor)}
        blocks = q4_blocks(tensor)
        if blocks is None:
            arrays[name] = tensor
            counts["as_is"] += 1
            continue
        nibbles = (blocks[0] + 8).astype(numpy.uint8)
        arrays[name + ".q"] = nibbles[:, 0::2] | (nibbles[:, 1::2] << 4)
        arrays[name + ".s"] = blocks[1]
        meta[name]["q4"] = True
        counts["q4"] += 1
    out.parent.mkdir(parents=True, exist_ok=True)
    save_file(arrays, str(out), metadata={"tensors": json.dumps(meta)})
    return counts


def unpack(packed: Path, folder: Path) -> None:
    """Writes `folder/model.safetensors`; a tensor whose sha256 differs from the packed record is an error."""
    tensors = {}
    with safe_open(str(packed), "np") as file:
        for name, entry in json.loads(file.metadata()["tensors"]).items():
            if entry.get("q4"):
                nibbles = file.get_tensor(name + ".q")
                codes = numpy.empty((len(nibbles), BLOCK), numpy.int8)
                codes[:, 0::2] = (nibbles & 0x0F).astype(numpy.int8) - 8
                codes[:, 1::2] = (nibbles >> 4).astype(numpy.int8) - 8
                scales = file.get_tensor(name + ".s").astype(numpy.float32)
                tensor = (codes.astype(numpy.float32) * scales[:, None]).reshape(entry["shape"])
            else:
                tensor = file.get_tensor(name)
            if sha256(tensor) != entry["sha256"]:
                raise SystemExit(f"{packed}: tensor {name} does not rebuild to the packed original (sha256 differs)")
            tensors[name] = tensor
    folder.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(folder / "model.safetensors"), metadata={"format": "pt"})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.strip().split("\n\n")[0])
    parser.add_argument("action", choices=["pack", "unpack"])
    parser.add_argument("source", type=Path, help="pack: the encoder folder; unpack: the packed file")
    parser.add_argument("target", type=Path, help="pack: the packed file; unpack: the encoder folder")
    args = parser.parse_args()
    if args.action == "pack":
        counts = pack(args.source, args.target)
        print(f"{args.target}: {counts['q4']} tensors as 4-bit codes, {counts['as_is']} as they were")
    else:
        unpack(args.source, args.target)
        print(f"{args.target / 'model.safetensors'}: every tensor rebuilt and checked")


if __name__ == "__main__":
    main()
