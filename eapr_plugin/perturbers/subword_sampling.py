"""
Subword sampling: the perturbed copy is the *same text*, segmented into other subword pieces.
"""
import json
import math
import random
from typing import Dict, List, Tuple

from allennlp.common.checks import ConfigurationError

from eapr_plugin.perturbers.perturber import PieceIds, Perturber


@Perturber.register("subword_sampling")
class SubwordSampling(Perturber):
    """
    Segments the sentence into subword pieces *sampled* from the encoder's own tokenizer instead of
    its single best segmentation, so the two streams differ in form but not in words: the
    two-stream objective works with no synonym table, in any language.

    - **Unigram** tokenizers (XLM-R, multilingual-E5; SentencePiece's unigram model): subword
      regularization (Kudo, "Subword Regularization", ACL 2018), as SentencePiece's
      `enable_sampling` with `nbest_size = -1`: each word's segmentation `s` is drawn from the full
      lattice with probability ∝ `exp(alpha · score(s))`, where `score(s)` is the sum of its pieces'
      log probabilities; `alpha` → 0 is uniform over segmentations, large `alpha` the best one.
      Implemented here by forward filtering and backward sampling over the lattice, from the
      pieces and scores of the tokenizer's `tokenizer.json`.
    - **WordPiece** tokenizers (mBERT): an equivalent of BPE-dropout (Provilkov et al., ACL 2020)
      for greedy longest-match: at each position of a word, with probability `dropout` the longest
      matching piece is dropped and a shorter matching one is taken uniformly; otherwise the
      longest, as WordPiece does. A word with no segmentation is `[UNK]`, as in WordPiece.

    The text is normalized and pre-tokenized by the tokenizer's own normalizer and pre-tokenizer,
    so only the segmentation of each word changes. Randomness comes only from the `rng` given
    (the reader seeds one per example and copy), so copies are reproducible. The copy is returned
    as piece ids (`PieceIds`), which the reader encodes as they are (special tokens and
    truncation as for text). Chain it after synonyms with the `chain` perturber.

    Registered as a `Perturber` with name "subword_sampling".

    # Parameters

    model_name : `str`
        The encoder's tokenizer (a Hub name or a folder), the same as the reader's.
    alpha : `float`, optional (default = `0.1`)
        Unigram smoothing (SentencePiece's `alpha`); XLM-R's own fine-tuning recipes use 0.1-0.3.
    dropout : `float`, optional (default = `0.1`)
        WordPiece: the probability of dropping the longest match at a position.
    """

    def __init__(self, model_name: str, alpha: float = 0.1, dropout: float = 0.1) -> None:
        if alpha <= 0:
            raise ConfigurationError(f"subword_sampling: `alpha` must be > 0, got {alpha}")
        if not 0.0 <= dropout < 1.0:
            raise ConfigurationError(f"subword_sampling: `dropout` must be in [0, 1), got {dropout}")
        from transformers import AutoTokenizer

        self.model_name, self.alpha, self.dropout = model_name, alpha, dropout
        backend = AutoTokenizer.from_pretrained(model_name).backend_tokenizer
        self._normalizer, self._pre_tokenizer = backend.normalizer, backend.pre_tokenizer
        model = json.loads(backend.to_str())["model"]
        self.kind = model["type"]
        if self.kind == "Unigram":
            self._scores: Dict[str, Tuple[int, float]] = {piece: (index, score)
                                                          for index, (piece, score) in enumerate(model["vocab"])}
            self._unk_id = model["unk_id"]
            self._unk_score = min(score for _, score in model["vocab"]) - 10.0  # as SentencePiece
            self._longest = max(len(piece) for piece in self._scores)
        elif self.kind == "WordPiece":
            self._vocab: Dict[str, int] = model["vocab"]
            self._prefix = model.get("continuing_subword_prefix", "##")
            self._unk_id = self._vocab[model.get("unk_token", "[UNK]")]
            self._max_chars = model.get("max_input_chars_per_word", 100)
        else:
            raise ConfigurationError(
                f"subword_sampling: the tokenizer of {model_name!r} is a {self.kind} model; sampling is "
                "implemented for Unigram (XLM-R-type) and WordPiece (BERT-type) tokenizers"
            )

    def describe(self) -> str:
        setting = f"alpha {self.alpha}" if self.kind == "Unigram" else f"dropout {self.dropout}"
        return f"subword sampling of the {self.kind} tokenizer of {self.model_name!r} ({setting})"

    def words(self, sentence: str) -> List[str]:
        text = self._normalizer.normalize_str(sentence) if self._normalizer is not None else sentence
        if self._pre_tokenizer is None:
            return text.split()
        return [word for word, _ in self._pre_tokenizer.pre_tokenize_str(text)]

    def perturb(self, sentence: str, rng: random.Random) -> PieceIds:
        sample = self._sample_unigram if self.kind == "Unigram" else self._sample_wordpiece
        return PieceIds(piece for word in self.words(sentence) for piece in sample(word, rng))

    # ----- Unigram: forward filtering, backward sampling over the word's lattice -----------------
    def _sample_unigram(self, word: str, rng: random.Random) -> List[int]:
        n = len(word)
        edges: List[List[Tuple[int, int, float]]] = [[] for _ in range(n + 1)]  # end -> (start, id, score)
        for start in range(n):
            matched = False
            for end in range(start + 1, min(n, start + self._longest) + 1):
                entry = self._scores.get(word[start:end])
                if entry is not None:
                    edges[end].append((start, entry[0], entry[1]))
                    matched = True
            if not matched:  # an unknown character: one <unk> piece, as SentencePiece
                edges[start + 1].append((start, self._unk_id, self._unk_score))
        forward = [0.0] + [-math.inf] * n
        for end in range(1, n + 1):
            for origin, _, score in edges[end]:
                forward[end] = _logaddexp(forward[end], forward[origin] + self.alpha * score)
        pieces: List[int] = []
        end = n
        while end > 0:
            weights = [math.exp(forward[origin] + self.alpha * score - forward[end]) if forward[origin] > -math.inf
                       else 0.0 for origin, _, score in edges[end]]
            origin, piece, _ = edges[end][_draw(weights, rng)]
            pieces.append(piece)
            end = origin
        return pieces[::-1]

    def _scores_piece(self, piece_id: int) -> str:
        """The piece string of a unigram piece id (for tests and logs)."""
        if not hasattr(self, "_pieces_by_id"):
            self._pieces_by_id = {index: piece for piece, (index, _) in self._scores.items()}
        return self._pieces_by_id[piece_id]

    # ----- WordPiece: longest match, dropped with probability `dropout` -------------------------
    def _sample_wordpiece(self, word: str, rng: random.Random) -> List[int]:
        if len(word) > self._max_chars:
            return [self._unk_id]
        pieces: List[int] = []
        start = 0
        while start < len(word):
            prefix = self._prefix if start > 0 else ""
            matches = [end for end in range(len(word), start, -1) if prefix + word[start:end] in self._vocab]
            if not matches:
                return [self._unk_id]
            end = matches[0]
            if len(matches) > 1 and rng.random() < self.dropout:
                end = matches[1 + rng.randrange(len(matches) - 1)]
            # a shorter piece must leave a segmentable rest; otherwise keep the longest match
            if end != matches[0] and not self._segmentable(word, end):
                end = matches[0]
            pieces.append(self._vocab[prefix + word[start:end]])
            start = end
        return pieces

    def _segmentable(self, word: str, start: int) -> bool:
        while start < len(word):
            ends = [end for end in range(len(word), start, -1) if self._prefix + word[start:end] in self._vocab]
            if not ends:
                return False
            start = ends[0]
        return True


def _logaddexp(a: float, b: float) -> float:
    if a == -math.inf:
        return b
    if b == -math.inf:
        return a
    high = max(a, b)
    return high + math.log(math.exp(a - high) + math.exp(b - high))


def _draw(weights: List[float], rng: random.Random) -> int:
    threshold = rng.random() * sum(weights)
    for index, weight in enumerate(weights):
        threshold -= weight
        if threshold <= 0:
            return index
    return len(weights) - 1
