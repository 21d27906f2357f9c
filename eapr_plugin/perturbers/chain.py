"""Perturbers applied one after the other (e.g. the paper's synonyms, then subword sampling)."""
import random
from typing import List, Optional

from allennlp.common.checks import ConfigurationError

from eapr_plugin.perturbers.perturber import Perturber, PieceIds


@Perturber.register("chain")
class Chain(Perturber):
    """
    Applies perturbers in order, each to the previous one's output, with the same random
    generator: e.g. synonyms, then subword sampling (`[{"type": "synonym", ...}, {"type":
    "subword_sampling", ...}]`). Only the last may return pieces instead of text. A pair's texts
    go through the whole chain one after the other, unless a member ties pairs together
    (`shared_pair_swaps`): then each member perturbs both texts before the next one does.

    Registered as a `Perturber` with name "chain".

    # Parameters

    perturbers : `List[Perturber]`
    """

    def __init__(self, perturbers: List[Perturber]) -> None:
        if not perturbers:
            raise ConfigurationError("chain: `perturbers` is empty")
        self.perturbers = perturbers

    def describe(self) -> str:
        return " then ".join(p.describe() for p in self.perturbers)

    def perturb(self, sentence: str, rng: random.Random):
        value = sentence
        for index, perturber in enumerate(self.perturbers):
            _only_text(index, value)
            value = perturber.perturb(value, rng)
        return value

    @property
    def joint_pairs(self) -> bool:  # type: ignore[override]
        return any(perturber.joint_pairs for perturber in self.perturbers)

    def perturb_pair(self, first: str, second: Optional[str], rng: random.Random):
        if not self.joint_pairs or second is None:
            return super().perturb_pair(first, second, rng)
        pair = (first, second)
        for index, perturber in enumerate(self.perturbers):
            _only_text(index, *pair)
            pair = perturber.perturb_pair(pair[0], pair[1], rng)
        return pair


def _only_text(index: int, *values) -> None:
    if any(isinstance(value, PieceIds) for value in values):
        raise ConfigurationError(
            f"chain: perturber {index} gets pieces from the one before it; only the last may segment"
        )
