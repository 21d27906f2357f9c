import pytest

from eapr_plugin.predictors import EaprClassifierPredictor
from scripts.recipe import build_model, build_reader, recipe_params
from tests.support.tasks import tiny_ext_vars


@pytest.fixture
def predictor(tiny_encoders, nli_files, synonym_table):
    params = recipe_params(**tiny_ext_vars(tiny_encoders["tiny-bert"], nli_files["en"], nli_files["en"],
                                           synonym_table, EAPR_TASK="xnli", EAPR_METHOD="eapr"))
    model = build_model(params).eval()
    return EaprClassifierPredictor(model, build_reader(params, "validation_dataset_reader"))


def test_both_key_spellings_give_the_same_prediction(predictor):
    a = predictor.predict_json({"premise": "Le chat dort .", "hypothesis": "Un homme lit ."})
    b = predictor.predict_json({"sentence1": "Le chat dort .", "sentence2": "Un homme lit ."})
    assert a["probs"] == pytest.approx(b["probs"])
    assert a["label"] in ("entailment", "neutral", "contradiction")
    assert sum(a["probs"]) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("line, message", [
    ('{"premise": "A cat ."', "in.jsonl:3: not a JSON object"),
    ('["A cat .", "A dog ."]', "in.jsonl:3: expected a JSON object, got list"),
    ('{"premise": "A cat ."}', "in.jsonl:3: this model classifies sentence pairs, and the line has no second text"),
    ('{"premise": "A cat .", "hypotesis": "A dog ."}', r"in.jsonl:3: unknown key\(s\) \['hypotesis'\]"),
    ('{"hypothesis": "A dog ."}', "in.jsonl:3: no text under any of the keys"),
])
def test_a_bad_input_line_is_an_error_naming_it(predictor, line, message):
    from allennlp.common.checks import ConfigurationError

    with pytest.raises(ConfigurationError, match=message):
        predictor.load_line(line, location="in.jsonl:3")
