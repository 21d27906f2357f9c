from typing import Dict, List

import numpy
from allennlp.common.checks import ConfigurationError
from allennlp.common.util import JsonDict
from allennlp.data import Instance
from allennlp.data.fields import LabelField
from allennlp.predictors.predictor import Predictor

#: accepted JSON keys for the first and second text, in order of preference.
FIRST_KEYS = ("sentence1", "premise", "text", "sentence")
SECOND_KEYS = ("sentence2", "hypothesis")


@Predictor.register("eapr_classifier")
class EaprClassifierPredictor(Predictor):
    """
    Predictor for `EaprClassifier`: one JSON object per input, with the first text under
    `sentence1` / `premise` / `text` / `sentence` and, for pair tasks, the second under
    `sentence2` / `hypothesis`. Returns the model's `probs`, `logits` and `label`. Only the
    original input is encoded (no perturbation at inference).

    Registered as a `Predictor` with name "eapr_classifier".
    """

    def predict(self, sentence1: str, sentence2: str = None) -> JsonDict:
        return self.predict_json({"sentence1": sentence1, "sentence2": sentence2})

    def _json_to_instance(self, json_dict: JsonDict) -> Instance:
        first = next((json_dict[k] for k in FIRST_KEYS if json_dict.get(k) is not None), None)
        if first is None:
            raise ConfigurationError(
                f"eapr_classifier predictor: input {json_dict!r} has none of the keys {FIRST_KEYS}"
            )
        second = next((json_dict[k] for k in SECOND_KEYS if json_dict.get(k) is not None), None)
        return self._dataset_reader.text_to_instance(
            first, second, language=json_dict.get("language")
        )

    def predictions_to_labeled_instances(
        self, instance: Instance, outputs: Dict[str, numpy.ndarray]
    ) -> List[Instance]:
        new_instance = instance.duplicate()
        new_instance.add_field("label", LabelField(int(numpy.argmax(outputs["probs"])), skip_indexing=True))
        return [new_instance]
