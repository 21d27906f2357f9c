import json
from typing import Dict, List, Optional

import numpy
from allennlp.common.checks import ConfigurationError
from allennlp.common.util import JsonDict
from allennlp.data import Instance
from allennlp.data.fields import LabelField
from allennlp.predictors.predictor import Predictor

#: accepted JSON keys for the first and second text, in order of preference.
FIRST_KEYS = ("sentence1", "premise", "text", "sentence")
SECOND_KEYS = ("sentence2", "hypothesis")
#: other keys an input line may carry (passed through or ignored, never an error).
OTHER_KEYS = ("language", "label", "gold_label", "id")


@Predictor.register("eapr_classifier")
class EaprClassifierPredictor(Predictor):
    """
    Predictor for `EaprClassifier`: one JSON object per input, with the first text under
    `sentence1` / `premise` / `text` / `sentence` and, for pair tasks (XNLI, PAWS-X), the second
    under `sentence2` / `hypothesis`; optionally `language`, `id`, `label`. Returns the model's
    `probs`, `logits` and `label`. Only the original input is encoded (no perturbation at
    inference).

    Predictions line up with inputs: a line that is not a JSON object, lacks the second text of
    a pair task, carries a second text for a single-sentence task, or has a key outside the ones
    above is an error naming the line (`allennlp predict` of this plugin passes `file:line`;
    blank lines are refused there, since AllenNLP would drop them and shift every later output).

    Registered as a `Predictor` with name "eapr_classifier".
    """

    def predict(self, sentence1: str, sentence2: str = None) -> JsonDict:
        return self.predict_json({"sentence1": sentence1, "sentence2": sentence2})

    def load_line(self, line: str, location: Optional[str] = None) -> JsonDict:  # type: ignore[override]
        where = location or "input line"
        try:
            json_dict = json.loads(line)
        except json.JSONDecodeError as error:
            raise ConfigurationError(f"{where}: not a JSON object ({error.msg} at column {error.colno})") from error
        self._check(json_dict, where)
        return json_dict

    def _check(self, json_dict: JsonDict, where: str) -> None:
        if not isinstance(json_dict, dict):
            raise ConfigurationError(f"{where}: expected a JSON object, got {type(json_dict).__name__}")
        unknown = sorted(set(json_dict) - set(FIRST_KEYS + SECOND_KEYS + OTHER_KEYS))
        if unknown:
            raise ConfigurationError(
                f"{where}: unknown key(s) {unknown}; the first text goes under one of {FIRST_KEYS}, "
                f"the second (pair tasks) under one of {SECOND_KEYS}, and {OTHER_KEYS} are allowed"
            )
        if not any(isinstance(json_dict.get(k), str) and json_dict[k].strip() for k in FIRST_KEYS):
            raise ConfigurationError(f"{where}: no text under any of the keys {FIRST_KEYS}")
        has_second = any(json_dict.get(k) is not None for k in SECOND_KEYS)
        pair_task = getattr(self._dataset_reader, "pair_task", None)
        if pair_task and not has_second:
            raise ConfigurationError(
                f"{where}: this model classifies sentence pairs, and the line has no second text "
                f"(one of the keys {SECOND_KEYS})"
            )
        if pair_task is False and has_second:
            raise ConfigurationError(f"{where}: this model classifies single sentences; drop {SECOND_KEYS}")

    def _json_to_instance(self, json_dict: JsonDict) -> Instance:
        self._check(json_dict, f"input {json.dumps(json_dict, ensure_ascii=False)[:80]}")
        first = next(json_dict[k] for k in FIRST_KEYS if json_dict.get(k) is not None)
        second = next((json_dict[k] for k in SECOND_KEYS if json_dict.get(k) is not None), None)
        return self._dataset_reader.text_to_instance(first, second, language=json_dict.get("language"))

    def predictions_to_labeled_instances(
        self, instance: Instance, outputs: Dict[str, numpy.ndarray]
    ) -> List[Instance]:
        new_instance = instance.duplicate()
        new_instance.add_field("label", LabelField(int(numpy.argmax(outputs["probs"])), skip_indexing=True))
        return [new_instance]
