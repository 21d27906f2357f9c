"""Base class of the training-time input perturbers."""
import random
from typing import List, Union

from allennlp.common import Registrable


class PieceIds(List[int]):
    """A perturbed copy given as the encoder's subword piece ids (no special tokens) instead of
    text: what a segmenting perturber (`subword_sampling`) returns; the reader encodes it as is."""


class Perturber(Registrable):
    """
    Turns one sentence into a perturbed copy of it, drawing randomness only from the `rng` it is
    given, so that a reader can make the copies reproducible per example (see
    `EaprReader`, which seeds one `random.Random` per example and copy).

    Subclasses are registered with `@Perturber.register(name)`; `"synonym"` is the paper's.
    """

    default_implementation = "synonym"

    def perturb(self, sentence: str, rng: random.Random) -> Union[str, PieceIds]:
        raise NotImplementedError

    def describe(self) -> str:
        """What this perturber uses (its table, its tokenizer), for log lines and errors."""
        return type(self).__name__
