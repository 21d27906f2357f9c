"""
Tiny offline multilingual encoders for tests and smoke benchmarks.

Builds, with no Hub access, two randomly initialised encoders in standard Hugging Face folders:

- `tiny-bert`: a `BertModel` (with pooler) and a WordPiece `BertTokenizerFast` trained on the
  multilingual corpus shipped in `tests/support/data/tiny_corpus.tsv`;
- `tiny-xlmr`: an `XLMRobertaModel` and an `XLMRobertaTokenizerFast` made from a SentencePiece
  *unigram* model trained on the same corpus (XLM-R fast tokenizers need unigram, not BPE).

Both have 6 layers (Attention-Pull reads layer index 5 by default), hidden size 32, 2 heads.
The corpus contains the lone words "a", "b", "1", "2" so that AllenNLP's
`PretrainedTransformerTokenizer` special-token discovery finds single pieces for them.

A folder is rebuilt only when its stamp (a hash of the corpus and of this builder's settings)
changes, so calling `build_tiny_encoders` once per test session is cheap.

Run as `python -m tests.support.tiny_encoders OUT_DIR` from the project root.
"""
import hashlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Dict, List

CORPUS = Path(__file__).parent / "data" / "tiny_corpus.tsv"
BUILDER_VERSION = 4
NUM_LAYERS = 6
HIDDEN = 32
HEADS = 2
INTERMEDIATE = 64
MAX_POSITIONS = 160
ENCODER_NAMES = ("tiny-bert", "tiny-xlmr")


def corpus_sentences() -> List[str]:
    """The shipped multilingual corpus, one sentence per line (language tag dropped)."""
    lines = CORPUS.read_text(encoding="utf-8").splitlines()
    return [line.split("\t", 1)[1] for line in lines if line.strip()]


def _stamp() -> str:
    digest = hashlib.sha256(CORPUS.read_bytes())
    digest.update(
        json.dumps([BUILDER_VERSION, NUM_LAYERS, HIDDEN, HEADS, INTERMEDIATE, MAX_POSITIONS]).encode()
    )
    return digest.hexdigest()


def _size(tokenizer) -> dict:
    """The model-size settings shared by both tiny encoders."""
    return dict(
        vocab_size=len(tokenizer),
        hidden_size=HIDDEN,
        num_hidden_layers=NUM_LAYERS,
        num_attention_heads=HEADS,
        intermediate_size=INTERMEDIATE,
        max_position_embeddings=MAX_POSITIONS,
        pad_token_id=tokenizer.pad_token_id,
    )


def _build_bert(out: Path, sentences: List[str]) -> None:
    import torch
    from tokenizers import BertWordPieceTokenizer
    from transformers import BertConfig, BertModel, BertTokenizerFast

    wordpiece = BertWordPieceTokenizer(lowercase=False, strip_accents=False)
    wordpiece.train_from_iterator(sentences * 3, vocab_size=1200, min_frequency=1)
    with tempfile.TemporaryDirectory() as tmp:
        wordpiece.save_model(tmp)
        tokenizer = BertTokenizerFast(
            vocab_file=os.path.join(tmp, "vocab.txt"), do_lower_case=False, strip_accents=False
        )
    tokenizer.model_max_length = 128
    tokenizer.save_pretrained(out)
    config = BertConfig(**_size(tokenizer), type_vocab_size=2)
    torch.manual_seed(0)
    BertModel(config).save_pretrained(out)


def _build_xlmr(out: Path, sentences: List[str]) -> None:
    import sentencepiece as spm
    import torch
    from transformers import XLMRobertaConfig, XLMRobertaModel, XLMRobertaTokenizerFast

    with tempfile.TemporaryDirectory() as tmp:
        text = os.path.join(tmp, "corpus.txt")
        Path(text).write_text("\n".join(sentences * 3) + "\n", encoding="utf-8")
        prefix = os.path.join(tmp, "spm")
        spm.SentencePieceTrainer.train(
            input=text,
            model_prefix=prefix,
            model_type="unigram",
            vocab_size=600,
            hard_vocab_limit=False,
            character_coverage=1.0,
            bos_id=-1,
            eos_id=-1,
            pad_id=-1,
            unk_id=0,
            num_threads=1,
            minloglevel=2,
        )
        # Built from the .model file directly; the folder then holds both the SentencePiece
        # model and tokenizer.json, and no `from_slow` flag that would force a re-conversion.
        fast = XLMRobertaTokenizerFast(vocab_file=prefix + ".model", model_max_length=128)
        fast.save_pretrained(out)
    config = XLMRobertaConfig(
        **_size(fast), type_vocab_size=1, bos_token_id=fast.bos_token_id, eos_token_id=fast.eos_token_id
    )
    torch.manual_seed(0)
    XLMRobertaModel(config).save_pretrained(out)


def build_tiny_encoders(out_dir: str) -> Dict[str, str]:
    """Build (or reuse) both tiny encoders under `out_dir`; returns `{name: folder}`."""
    root = Path(out_dir)
    stamp = _stamp()
    sentences = corpus_sentences()
    folders = {}
    for name, builder in (("tiny-bert", _build_bert), ("tiny-xlmr", _build_xlmr)):
        folder = root / name
        stamp_file = folder / "eapr-stamp.txt"
        if not (stamp_file.exists() and stamp_file.read_text() == stamp):
            building = root / f".{name}.building"
            shutil.rmtree(building, ignore_errors=True)
            building.mkdir(parents=True)
            builder(building, sentences)
            (building / "eapr-stamp.txt").write_text(stamp)
            shutil.rmtree(folder, ignore_errors=True)
            building.rename(folder)
        folders[name] = str(folder.resolve())
    return folders


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m tests.support.tiny_encoders OUT_DIR")
    for name, folder in build_tiny_encoders(sys.argv[1]).items():
        print(f"{name}: {folder}")
