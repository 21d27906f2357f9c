"""Base class of the training-time input perturbers."""
import random
from typing import List, Optional, Tuple, Union

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

    #: whether `perturb_pair` ties a pair's two copies together (see `SynonymPerturber`'s
    #: `shared_pair_swaps`); when False, it perturbs the two texts one after the other.
    joint_pairs = False

    def perturb(self, sentence: str, rng: random.Random) -> Union[str, PieceIds]:
        raise NotImplementedError

    def perturb_pair(
        self, first: str, second: Optional[str], rng: random.Random
    ) -> Tuple[Union[str, PieceIds], Union[str, PieceIds, None]]:
        """The perturbed copies of an example's texts (`second` is None for single-sentence
        tasks): by default the first, then the second, each on its own, from one `rng`."""
        perturbed_first = self.perturb(first, rng)
        return perturbed_first, (self.perturb(second, rng) if second is not None else None)

    def describe(self) -> str:
        """What this perturber uses (its table, its tokenizer), for log lines and errors."""
        return type(self).__name__
