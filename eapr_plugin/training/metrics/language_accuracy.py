from typing import Dict, List, Optional

import torch
import torch.distributed as dist
from allennlp.nn.util import distributed_device, is_distributed
from allennlp.training.metrics.metric import Metric


@Metric.register("eapr_language_accuracy")
class LanguageAccuracy(Metric):
    """
    Accuracy per language tag (`accuracy_{lang}`), reduced across distributed workers even when
    they have seen different languages: the workers first agree on the union of language tags
    (an all-gather of the tag lists), then sum `[correct, total]` for every tag in the same order,
    so every worker makes the same collective calls and none waits forever.

    Registered as a `Metric` with name "eapr_language_accuracy".
    """

    def __init__(self) -> None:
        self._counts: Dict[str, List[int]] = {}

    def __call__(self, predictions: torch.Tensor, gold_labels: torch.Tensor,
                 languages: List[Optional[str]]) -> None:
        correct = (predictions.argmax(-1) == gold_labels).tolist()
        for language, hit in zip(languages, correct):
            counts = self._counts.setdefault(language or "unknown", [0, 0])
            counts[0] += int(hit)
            counts[1] += 1

    def get_metric(self, reset: bool = False) -> Dict[str, float]:
        counts = dict(self._counts)
        languages = sorted(counts)
        if is_distributed():
            gathered: List[List[str]] = [[] for _ in range(dist.get_world_size())]
            dist.all_gather_object(gathered, languages)
            languages = sorted(set().union(*map(set, gathered)))
            totals = torch.tensor([counts.get(l, [0, 0]) for l in languages] or [[0, 0]],
                                  dtype=torch.float64, device=distributed_device())
            dist.all_reduce(totals, op=dist.ReduceOp.SUM)
            counts = {l: totals[i].tolist() for i, l in enumerate(languages)}
        if reset:
            self.reset()
        return {f"accuracy_{l}": counts[l][0] / counts[l][1] for l in languages if counts[l][1] > 0}

    def reset(self) -> None:
        self._counts = {}
