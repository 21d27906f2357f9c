"""
The paper's word-level synonym perturbation (the Robust-XLT procedure, reused by EAPR/EAR).
"""
import json
import logging
import random
from typing import Dict, List, Optional, Tuple

from allennlp.common.checks import ConfigurationError
from allennlp.common.file_utils import cached_path

from eapr_plugin.perturbers.perturber import Perturber

logger = logging.getLogger(__name__)


@Perturber.register("synonym")
class SynonymPerturber(Perturber):
    """
    Replaces words by counter-fitted synonyms, exactly as `../shared/docs/method.md` states:

    1. the sentence is split on single spaces (no lower-casing; lookup is by exact string);
    2. every word `w` whose neighbour list `N(w)` in the table is non-empty is replaced by a
       uniformly random element of `{w} ∪ N(w)` (so it may stay the same); other words stay;
    3. the word count never changes (the copy is re-joined with single spaces).

    The paper perturbs a pair's two texts (premise and hypothesis) independently, so a word the
    two share may become two different synonyms and the pair loses the overlap that NLI and
    paraphrase labels often rest on. `shared_pair_swaps` (a deviation from the paper, off by
    default) keeps it: the first text is perturbed exactly as above; in the second, a word that
    also occurs in the first takes the replacement its first occurrence there received (drawing
    nothing), and every other word is drawn as above. Single-sentence tasks are unaffected.

    Registered as a `Perturber` with name "synonym".

    # Parameters

    table : `str`
        Path or URL (anything `cached_path` accepts) of a JSON object `{word: [neighbour, ...]}`,
        e.g. `counterfitted_neighbors.json` from the uclanlp/Robust-XLT or KB-Ding/EAR
        repositories. Every key must be a string and every value a list of strings; anything else
        is a `ConfigurationError` naming the file and the offending key. The table is opened when
        the first copy is made (`allennlp train` checks that it exists before it starts).
    shared_pair_swaps : `bool`, optional (default = `False`)
        A pair's second text reuses the first text's replacement of every word they share
        (see above); False is the paper's independent perturbation.
    """

    def __init__(self, table: str, shared_pair_swaps: bool = False) -> None:
        self.table_path = table
        self.joint_pairs = shared_pair_swaps
        self._neighbours: Optional[Dict[str, List[str]]] = None

    @property
    def neighbours(self) -> Dict[str, List[str]]:
        """The table, opened at the first perturbation (an archive loaded for inference, whose
        training reader is built but never reads, never needs it)."""
        if self._neighbours is None:
            self._neighbours = self._load(self.table_path)
        return self._neighbours

    @staticmethod
    def _load(table: str) -> Dict[str, List[str]]:
        try:
            local_path = cached_path(table)
        except (FileNotFoundError, ValueError, OSError) as error:
            raise ConfigurationError(
                f"synonym perturber: cannot open the synonym table {table!r} "
                f"(setting `perturber.table`): {error}"
            ) from error
        try:
            with open(local_path, encoding="utf-8") as handle:
                raw = json.load(handle)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ConfigurationError(
                f"synonym perturber: {table!r} is not a UTF-8 JSON file "
                f"(setting `perturber.table`): {error}"
            ) from error
        if not isinstance(raw, dict):
            raise ConfigurationError(
                f"synonym perturber: {table!r} must hold a JSON object {{word: [neighbours]}}, "
                f"found {type(raw).__name__} (setting `perturber.table`)"
            )
        for word, neighbours in raw.items():
            if not isinstance(neighbours, list) or not all(isinstance(n, str) for n in neighbours):
                raise ConfigurationError(
                    f"synonym perturber: in {table!r}, the value of key {word!r} must be a list of "
                    f"strings, found {neighbours!r} (setting `perturber.table`)"
                )
        # Only words with a non-empty list can change; keep the candidate set {w} ∪ N(w) ready
        # (a set: a neighbour list that repeats w or a neighbour does not tilt the draw).
        table_with_self = {w: list(dict.fromkeys([w] + n)) for w, n in raw.items() if n}
        logger.info(
            "synonym table %s: %d words, %d with neighbours", table, len(raw), len(table_with_self)
        )
        return table_with_self

    def describe(self) -> str:
        return f"synonym table {self.table_path!r}, {len(self.neighbours)} words with neighbours"

    def perturb(self, sentence: str, rng: random.Random) -> str:
        return self._swap(sentence, rng, {})

    def perturb_pair(self, first: str, second: Optional[str], rng: random.Random) -> Tuple[str, Optional[str]]:
        if not self.joint_pairs or second is None:
            return super().perturb_pair(first, second, rng)
        chosen: Dict[str, str] = {}
        perturbed_first = self._swap(first, rng, {}, record=chosen)
        return perturbed_first, self._swap(second, rng, chosen)

    def _swap(self, sentence: str, rng: random.Random, fixed: Dict[str, str],
              record: Optional[Dict[str, str]] = None) -> str:
        """Step 2 above; a word in `fixed` takes its entry instead of a draw, and `record` (when
        given) keeps each word's first replacement."""
        words = sentence.split(" ")
        for index, word in enumerate(words):
            candidates: Optional[List[str]] = self.neighbours.get(word)
            if not candidates:
                continue
            words[index] = fixed[word] if word in fixed else candidates[rng.randrange(len(candidates))]
            if record is not None:
                record.setdefault(word, words[index])
        return " ".join(words)
