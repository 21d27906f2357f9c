"""
EaprClassifier: every term's value pinned against an independent computation on the HF encoder,
gradients from every term, the RS-DA / inference equivalences, and AllenNLP's train/save/load.
"""
import math

import pytest
import torch
from allennlp.common.checks import ConfigurationError
from allennlp.common.testing import ModelTestCase
from allennlp.data import Batch

from scripts.recipe import build_model, build_reader, recipe_params
from tests.support.cli import REPO
from tests.support.tasks import tiny_ext_vars

ENCODERS = ["tiny-bert", "tiny-xlmr"]
HEADS = ["bert_pooler", "roberta", "mean_pool"]
LENGTH = 32  # EAPR_MAX_LENGTH of tiny_ext_vars: exact-mode Attention-Pull pads both streams to it


def params_for(encoder_dir, nli_files, synonym_table, method="eapr", **settings):
    """The recipe (training_configs/) on a tiny encoder, one perturbed copy per example."""
    ext = tiny_ext_vars(encoder_dir, nli_files["en"], nli_files["en"], synonym_table,
                        EAPR_TASK="xnli", EAPR_METHOD=method, EAPR_NUM_PERTURBATIONS="1", **settings)
    return recipe_params(**ext)


def build(encoder_dir, nli_files, synonym_table, method="eapr", model_overrides=None, **settings):
    params = params_for(encoder_dir, nli_files, synonym_table, method, **settings)
    for key, value in (model_overrides or {}).items():
        params["model"][key] = value
    return build_model(params)


def batch_for(encoder_dir, synonym_table, nli_files, count=4, **settings):
    reader = build_reader(params_for(encoder_dir, nli_files, synonym_table, **settings))
    return list(reader.read(nli_files["en"]))[:count]


def tensors(model, instances):
    batch = Batch(instances)
    batch.index_instances(model.vocab)
    return batch.as_tensor_dict()


def pad_to(field, length, pad_id):
    out = {}
    for key, tensor in field["tokens"].items():
        value = pad_id if key == "token_ids" else 0
        out[key] = torch.nn.functional.pad(tensor, (0, length - tensor.size(1)), value=value)
    return out


def independent_stream(model, field, length):
    """Run the HF encoder directly (all layers' outputs requested) on inputs padded to `length`."""
    transformer = model._transformer
    padded = pad_to(field, length, transformer.config.pad_token_id)
    out = transformer(
        input_ids=padded["token_ids"],
        attention_mask=padded["mask"].float(),
        token_type_ids=padded["type_ids"],
        output_hidden_states=True,
        output_attentions=True,
    )
    return out, padded["mask"]


def independent_logits(model, out, mask, head):
    """Each release head by hand from the HF outputs and the model's weights (eval mode: no dropout)."""
    linear = model._classification_layer
    last = out.last_hidden_state
    if head == "bert_pooler":
        dense = model._seq2vec_encoder.pooler.dense
        pooled = torch.tanh(last[:, 0] @ dense.weight.T + dense.bias)
    elif head == "mean_pool":
        m = mask.float().unsqueeze(-1)
        pooled = (last * m).sum(1) / m.sum(1)
    else:  # RobertaClassificationHead: first token -> dense -> tanh -> out_proj
        dense = model._feedforward._linear_layers[0]
        pooled = torch.tanh(last[:, 0] @ dense.weight.T + dense.bias)
    return pooled @ linear.weight.T + linear.bias


@pytest.mark.parametrize("head", HEADS)
@pytest.mark.parametrize("encoder", ENCODERS)
def test_every_head_and_term_matches_an_independent_computation(encoder, head, tiny_encoders, synonym_table,
                                                                 nli_files):
    """The same-outputs test of the config-composed heads: logits and every loss term equal the
    release's computation on the same weights and inputs, for each head and encoder type."""
    model = build(tiny_encoders[encoder], nli_files, synonym_table, EAPR_HEAD=head).eval()
    instances = batch_for(tiny_encoders[encoder], synonym_table, nli_files)
    batch = tensors(model, instances)
    # the fixture perturbs at least one example, so the two streams differ
    assert [i["metadata"]["text_a"] for i in instances] != [i["metadata"]["perturbed_a"] for i in instances]
    with torch.no_grad():
        output = model(**batch)
        original, original_mask = independent_stream(model, batch["tokens"], LENGTH)
        perturbed, perturbed_mask = independent_stream(model, batch["perturbed_tokens"], LENGTH)
        label = batch["label"]

        def ce(logits):
            return (torch.logsumexp(logits, -1) - logits.gather(1, label.view(-1, 1)).squeeze(1)).mean()

        def mean(embeddings, mask):
            m = mask.float().unsqueeze(-1)
            return (embeddings * m).sum(1) / m.sum(1)

        expected = {
            "task_loss": ce(independent_logits(model, perturbed, perturbed_mask, head)),
            "robust_targets_loss": ce(independent_logits(model, original, original_mask, head)),
            "embedding_push_loss": -((mean(original.hidden_states[0], original_mask)
                                      - mean(perturbed.hidden_states[0], perturbed_mask)) ** 2).mean(),
            "attention_pull_loss": ((original.attentions[5] - perturbed.attentions[5]) ** 2).mean(),
        }
    for key, value in expected.items():
        assert output[key].dim() == 0
        assert output[key].item() == pytest.approx(value.item(), rel=1e-4, abs=1e-7), key
    weights = {f"{term.name}_loss": term.weight for term in model._loss_terms}  # the recipe's (test_recipes pins them)
    total = expected["task_loss"] + sum(weights[key] * expected[key] for key in weights)
    assert output["loss"].item() == pytest.approx(total.item(), rel=1e-5)
    metrics = model.get_metrics()
    for key in expected:
        assert key in metrics
    with torch.no_grad():  # inference: one stream, dynamic padding
        length = batch["tokens"]["tokens"]["token_ids"].size(1)
        logits = independent_logits(model, *independent_stream(model, batch["tokens"], length), head)
        assert torch.allclose(model(tokens=batch["tokens"])["logits"], logits, atol=1e-5)


@pytest.mark.parametrize("encoder", ENCODERS)
def test_one_layer_capture_equals_all_layer_attentions(encoder, tiny_encoders, synonym_table, nli_files):
    instances = batch_for(tiny_encoders[encoder], synonym_table, nli_files)
    values = {}
    for capture in ("one_layer", "all_layers"):
        torch.manual_seed(0)
        model = build(tiny_encoders[encoder], nli_files, synonym_table, model_overrides={"attention_capture": capture})
        model.eval()
        with torch.no_grad():
            values[capture] = model(**tensors(model, instances))["attention_pull_loss"].item()
        assert model._transformer.config.output_attentions is False  # restored after the call
    assert values["one_layer"] == pytest.approx(values["all_layers"], rel=1e-5)


def test_masked_mode_runs_on_dynamic_padding(tiny_encoders, synonym_table, nli_files):
    model = build(tiny_encoders["tiny-bert"], nli_files, synonym_table, EAPR_AP_MODE="masked").eval()
    instances = batch_for(tiny_encoders["tiny-bert"], synonym_table, nli_files)
    batch = tensors(model, instances)
    with torch.no_grad():
        value = model(**batch)["attention_pull_loss"]
        original, om = independent_stream(model, batch["tokens"], batch["tokens"]["tokens"]["token_ids"].size(1))
        perturbed, pm = independent_stream(model, batch["perturbed_tokens"], batch["perturbed_tokens"]["tokens"]["token_ids"].size(1))
    pull = next(term for term in model._loss_terms if term.name == "attention_pull")
    expected = pull(original.attentions[5], perturbed.attentions[5], om, pm)
    assert value.item() == pytest.approx(expected.item(), rel=1e-5)


@pytest.mark.parametrize("name", ["task", "robust_targets", "embedding_push", "attention_pull"])
def test_gradients_reach_the_encoder_from_every_term(name, tiny_encoders, synonym_table, nli_files):
    model = build(tiny_encoders["tiny-bert"], nli_files, synonym_table)
    model.train()
    instances = batch_for(tiny_encoders["tiny-bert"], synonym_table, nli_files)
    output = model(**tensors(model, instances))
    output[f"{name}_loss"].backward()
    embeddings = model._transformer.embeddings.word_embeddings.weight.grad
    assert embeddings is not None and embeddings.abs().sum() > 0
    # Embedding-Push reads the embedding layer's output, so it moves only the embedding module;
    # every other term also reaches the transformer layers.
    first_layer = model._transformer.encoder.layer[0].attention.self.query.weight.grad
    if name == "embedding_push":
        assert first_layer is None
    else:
        assert first_layer is not None and first_layer.abs().sum() > 0


def test_zero_weights_and_no_robust_targets_is_rsda(tiny_encoders, synonym_table, nli_files):
    instances = batch_for(tiny_encoders["tiny-bert"], synonym_table, nli_files)
    zero = build(tiny_encoders["tiny-bert"], nli_files, synonym_table, method="eapr_no_rt",
                 EAPR_ALPHA="0", EAPR_BETA="0").eval()
    rsda = build(tiny_encoders["tiny-bert"], nli_files, synonym_table, method="rsda").eval()
    rsda.load_state_dict(zero.state_dict())
    with torch.no_grad():
        zero_out = zero(**tensors(zero, instances))
        rsda_out = rsda(**tensors(rsda, instances))
        # plain CE on the perturbed stream, computed without the model's loss code
        batch = tensors(rsda, instances)
        perturbed_only = rsda(tokens=batch["perturbed_tokens"])
        ce = torch.nn.functional.cross_entropy(perturbed_only["logits"], batch["label"])
    assert zero_out["loss"].item() == pytest.approx(ce.item(), rel=1e-5)
    assert rsda_out["loss"].item() == pytest.approx(ce.item(), rel=1e-5)
    assert "embedding_push_loss" in zero_out and "embedding_push_loss" not in rsda_out


@pytest.mark.parametrize("weight", ["0", "0.5"])
def test_perturbed_ce_weight_scales_only_the_perturbed_streams_ce(weight, tiny_encoders, synonym_table, nli_files):
    instances = batch_for(tiny_encoders["tiny-bert"], synonym_table, nli_files)
    model = build(tiny_encoders["tiny-bert"], nli_files, synonym_table, method="consistency",
                  EAPR_PC_TARGET="original", EAPR_PERTURBED_CE_WEIGHT=weight).eval()
    batch = tensors(model, instances)
    with torch.no_grad():
        out = model(**batch)
        # each stream's CE computed without the model's loss code
        original = torch.nn.functional.cross_entropy(model(tokens=batch["tokens"])["logits"], batch["label"])
        perturbed = torch.nn.functional.cross_entropy(model(tokens=batch["perturbed_tokens"])["logits"], batch["label"])
    assert out["task_loss"].item() == pytest.approx(perturbed.item(), rel=1e-5)  # logged unweighted
    expected = float(weight) * perturbed + original + out["prediction_consistency_loss"]
    assert out["loss"].item() == pytest.approx(expected.item(), rel=1e-5)


def test_perturbed_ce_weight_without_perturbed_copies_or_terms_is_an_error(tiny_encoders, synonym_table, nli_files):
    with pytest.raises(ConfigurationError, match=r"perturbed_ce_weight.*nothing would train.*EAPR_PERTURBED_CE_WEIGHT"):
        build(tiny_encoders["tiny-bert"], nli_files, synonym_table, method="rsda", EAPR_PERTURBED_CE_WEIGHT="0")
    with pytest.raises(ConfigurationError, match=r"perturbed_ce_weight.*nothing would train.*EAPR_PERTURBED_CE_WEIGHT"):
        build(tiny_encoders["tiny-bert"], nli_files, synonym_table, method="eapr_no_rt", EAPR_ALPHA="0",
              EAPR_BETA="0", EAPR_PERTURBED_CE_WEIGHT="0")  # every term at weight 0: the method would be off
    # a balanced term will get a weight > 0, so it trains
    build(tiny_encoders["tiny-bert"], nli_files, synonym_table, method="eapr_no_rt", EAPR_ALPHA="0", EAPR_BETA="0",
          EAPR_PERTURBED_CE_WEIGHT="0", EAPR_BALANCE="attention_pull=0.1")
    model = build(tiny_encoders["tiny-bert"], nli_files, synonym_table, method="baseline",
                  EAPR_PERTURBED_CE_WEIGHT="0.5").train()
    batch = tensors(model, batch_for(tiny_encoders["tiny-bert"], synonym_table, nli_files))
    with pytest.raises(ConfigurationError, match=r"`perturbed_ce_weight` is 0.5 but .* no perturbed copy"):
        model(tokens=batch["tokens"], label=batch["label"])


def test_inference_ignores_the_perturbation(tiny_encoders, synonym_table, nli_files):
    model = build(tiny_encoders["tiny-xlmr"], nli_files, synonym_table).eval()
    instances = batch_for(tiny_encoders["tiny-xlmr"], synonym_table, nli_files)
    batch = tensors(model, instances)
    with torch.no_grad():
        both = model(**batch)
        plain = model(tokens=batch["tokens"])
    assert torch.allclose(both["logits"], plain["logits"], atol=1e-6)
    assert set(plain) == {"logits", "probs"}


def test_layer_beyond_the_encoder_is_a_clear_error(tiny_encoders, nli_files, synonym_table):
    with pytest.raises(ConfigurationError, match=r"`layer` = 6 is beyond .* 6 layers.*EAPR_LAYER"):
        build(tiny_encoders["tiny-bert"], nli_files, synonym_table, EAPR_LAYER="6")


def test_exact_mode_rejects_inputs_longer_than_max_length(tiny_encoders, synonym_table, nli_files):
    params = params_for(tiny_encoders["tiny-bert"], nli_files, synonym_table)
    params["model"]["loss_terms"][2]["max_length"] = 8  # the tokenizer still truncates at 32
    model = build_model(params)
    instances = batch_for(tiny_encoders["tiny-bert"], synonym_table, nli_files)
    with pytest.raises(ConfigurationError, match="max_length"):
        model(**tensors(model, instances))


def test_recipe_chooses_the_head_by_encoder_and_removes_the_unused_pooler(tiny_encoders, nli_files, synonym_table):
    from allennlp.modules.seq2vec_encoders import BagOfEmbeddingsEncoder, BertPooler, ClsPooler

    bert = build(tiny_encoders["tiny-bert"], nli_files, synonym_table)  # "tiny-bert": the BERT pooler head
    assert isinstance(bert._seq2vec_encoder, BertPooler) and bert._feedforward is None
    xlmr = build(tiny_encoders["tiny-xlmr"], nli_files, synonym_table)  # "...xlmr": the RoBERTa head
    assert isinstance(xlmr._seq2vec_encoder, ClsPooler) and xlmr._feedforward is not None
    assert xlmr._sequence_dropout.p == xlmr._dropout.p == 0.1  # the release's double dropout
    mean = build(tiny_encoders["tiny-bert"], nli_files, synonym_table, EAPR_HEAD="mean_pool")
    assert isinstance(mean._seq2vec_encoder, BagOfEmbeddingsEncoder)
    for model in (bert, xlmr, mean):
        assert model._transformer.pooler is None  # no parameter left unused (DDP)
        assert model._classification_layer.in_features == model._transformer.config.hidden_size
    with pytest.raises(RuntimeError, match="EAPR_HEAD=mlp is not a head"):
        params_for(tiny_encoders["tiny-bert"], nli_files, synonym_table, EAPR_HEAD="mlp")


def test_non_finite_term_stops_with_its_name(tiny_encoders, synonym_table, nli_files, monkeypatch):
    from eapr_plugin.losses import EmbeddingPush

    model = build(tiny_encoders["tiny-bert"], nli_files, synonym_table)
    instances = batch_for(tiny_encoders["tiny-bert"], synonym_table, nli_files)
    model(**tensors(model, instances))  # one finite training batch
    monkeypatch.setattr(EmbeddingPush, "forward", lambda self, *args: torch.tensor(float("-inf")))
    with pytest.raises(FloatingPointError, match=r"'embedding_push_loss' is -inf at training batch 1.*max_distance"):
        model(**tensors(model, instances))


class TestEaprClassifierTrainSaveLoad(ModelTestCase):
    """AllenNLP's own train / save / load / predict checks on the recipe (tests/fixtures/experiment.jsonnet)."""

    @pytest.mark.parametrize("encoder", ENCODERS)
    def test_train_save_and_load(self, encoder, tiny_encoders, synonym_table, nli_files, monkeypatch):
        # ModelTestCase reads the validation file with the training reader too: English for both
        for name, value in tiny_ext_vars(tiny_encoders[encoder], nli_files["en"], nli_files["en"],
                                         synonym_table, EAPR_NUM_PERTURBATIONS="1").items():
            monkeypatch.setenv(name, value)
        config = REPO / "tests" / "fixtures" / "experiment.jsonnet"
        self.set_up_model(str(config), nli_files["en"])
        self.ensure_model_can_train_save_and_load(str(config), tolerance=1e-4)


# ----- nothing silent ----------------------------------------------------------------------------
def test_metrics_of_unlabelled_evaluation_are_an_error(tiny_encoders, synonym_table, nli_files):
    model = build(tiny_encoders["tiny-bert"], nli_files, synonym_table).eval()
    batch = tensors(model, batch_for(tiny_encoders["tiny-bert"], synonym_table, nli_files))
    with torch.no_grad():
        model(tokens=batch["tokens"])  # prediction: fine, no metric asked
    with pytest.raises(ConfigurationError, match=r"4 evaluated instance\(s\) carry no gold label.*allennlp predict"):
        model.get_metrics()
    model(tokens=batch["tokens"], label=batch["label"])  # labelled evaluation after the error: fine
    assert 0.0 <= model.get_metrics()["accuracy"] <= 1.0


def test_pair_terms_without_perturbed_copies_are_an_error(tiny_encoders, synonym_table, nli_files):
    model = build(tiny_encoders["tiny-bert"], nli_files, synonym_table).train()
    batch = tensors(model, batch_for(tiny_encoders["tiny-bert"], synonym_table, nli_files))
    with pytest.raises(ConfigurationError, match=r"carry no perturbed copy.*method would be off"):
        model(tokens=batch["tokens"], label=batch["label"])


def test_share_of_changed_copies_is_a_metric(tiny_encoders, synonym_table, nli_files):
    model = build(tiny_encoders["tiny-bert"], nli_files, synonym_table).eval()
    instances = batch_for(tiny_encoders["tiny-bert"], synonym_table, nli_files, count=8)
    changed = [i["metadata"]["perturbed_a"] != i["metadata"]["text_a"]
               or i["metadata"]["perturbed_b"] != i["metadata"]["text_b"] for i in instances]
    assert 0 < sum(changed) < len(changed), "the fixture needs changed and unchanged copies"
    with torch.no_grad():
        model(**tensors(model, instances))
    assert model.get_metrics()["perturbed_changed"] == pytest.approx(sum(changed) / len(changed))


def test_recover_refuses_a_label_vocabulary_rebuilt_differently(tiny_encoders, synonym_table, nli_files, tmp_path):
    from allennlp.data import Vocabulary

    params = params_for(tiny_encoders["tiny-bert"], nli_files, synonym_table)
    saved = Vocabulary()
    saved.add_tokens_to_namespace(["neutral", "entailment", "contradiction"], "labels")
    saved.save_to_files(str(tmp_path / "vocabulary"))
    from allennlp.models import Model

    same = Vocabulary()
    same.add_tokens_to_namespace(["neutral", "entailment", "contradiction"], "labels")
    Model.from_params(vocab=same, params=params.get("model").duplicate(), serialization_dir=str(tmp_path))
    swapped = Vocabulary()
    swapped.add_tokens_to_namespace(["entailment", "neutral", "contradiction"], "labels")
    with pytest.raises(ConfigurationError, match=r"label vocabulary .* differs .*--recover"):
        Model.from_params(vocab=swapped, params=params.get("model").duplicate(), serialization_dir=str(tmp_path))


@pytest.mark.parametrize("mode", ["exact", "masked"])
@pytest.mark.parametrize("encoder", ENCODERS)
def test_one_encoder_call_and_trimmed_layers_equal_two_full_calls(encoder, mode, tiny_encoders, synonym_table,
                                                                  nli_files):
    """Speed without another value: both streams in one call, and in exact mode the layers after the
    pulled one (here layer 2 of 6) on the real length, give the logits and terms of two calls that
    run every layer on the padded length (eval mode)."""
    settings = dict(EAPR_LAYER="2", EAPR_AP_MODE=mode, EAPR_MAX_LENGTH="64")
    fast = build(tiny_encoders[encoder], nli_files, synonym_table, **settings).eval()
    instances = sorted(batch_for(tiny_encoders[encoder], synonym_table, nli_files, count=100, **settings),
                       key=lambda i: max(len(i["tokens"]), len(i["perturbed_tokens"])))[:6]  # the shortest
    batch = tensors(fast, instances)
    lengths = []
    hook = fast._transformer.encoder.layer[3].register_forward_hook(
        lambda module, args, output: lengths.append(output[0].size(1)))
    with torch.no_grad():
        one_call = fast(**batch)
        request = fast._request
        original = fast._run_stream(batch["tokens"], request)  # the two separate full-length calls
        perturbed = fast._run_stream(batch["perturbed_tokens"], request)
    hook.remove()
    real = max(int(batch[k]["tokens"]["mask"].sum(1).max()) for k in ("tokens", "perturbed_tokens"))
    assert lengths[0] == (real if mode == "exact" else max(batch[k]["tokens"]["token_ids"].size(1)
                                                           for k in ("tokens", "perturbed_tokens")))
    if mode == "exact":
        assert real < 64  # the trimmed path ran: layer 3 saw the real length, not max_length
    label = batch["label"]
    two_calls = {
        "task_loss": torch.nn.functional.cross_entropy(perturbed.logits, label),
        **{f"{term.name}_loss": term.from_streams(original, perturbed, label) for term in fast._loss_terms},
    }
    assert torch.allclose(one_call["logits"], original.logits, atol=1e-5)
    for key, value in two_calls.items():
        assert one_call[key].item() == pytest.approx(value.item(), rel=1e-5, abs=1e-6), key


@pytest.mark.parametrize("target", ["both", "original"])
def test_prediction_consistency_in_the_model_matches_an_independent_computation(target, tiny_encoders, synonym_table,
                                                                                nli_files):
    model = build(tiny_encoders["tiny-bert"], nli_files, synonym_table, method="eapr_consistency",
                  EAPR_PC_TEMPERATURE="2.0", EAPR_PC_TARGET=target).eval()
    batch = tensors(model, batch_for(tiny_encoders["tiny-bert"], synonym_table, nli_files))
    with torch.no_grad():
        output = model(**batch)
        original = independent_logits(model, *independent_stream(model, batch["tokens"], LENGTH), "bert_pooler")
        perturbed = independent_logits(model, *independent_stream(model, batch["perturbed_tokens"], LENGTH), "bert_pooler")
    p, q = torch.softmax(original / 2.0, -1), torch.softmax(perturbed / 2.0, -1)
    expected = (p * (p / q).log()).sum(-1) + (0 if target == "original" else (q * (q / p).log()).sum(-1))
    expected = expected.mean()
    assert output["prediction_consistency_loss"].item() == pytest.approx(expected.item(), rel=1e-4, abs=1e-7)
    assert [t.name for t in model._loss_terms] == ["robust_targets", "embedding_push", "attention_pull",
                                                   "prediction_consistency"]


def _without_dropout(model):
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    return model.train()


def test_balanced_weights_set_each_terms_gradient_share_and_freeze(tiny_encoders, synonym_table, nli_files):
    """Against an independent measurement on a copy of the model: the frozen weight of a term is
    share × mean ‖∇ task CE‖ / mean ‖∇ term‖ on the encoder over the first batches (dropout off, so
    both see the same graph); the configured β = 100 (the collapse case) no longer applies once frozen."""
    model = _without_dropout(build(tiny_encoders["tiny-bert"], nli_files, synonym_table, EAPR_BETA="100",
                                   EAPR_BALANCE="attention_pull=0.5,embedding_push=0.01", EAPR_BALANCE_BATCHES="2"))
    reference = build(tiny_encoders["tiny-bert"], nli_files, synonym_table, EAPR_BETA="100")
    reference.load_state_dict(model.state_dict(), strict=False)  # the same weights, no balancing
    _without_dropout(reference)
    instances = batch_for(tiny_encoders["tiny-bert"], synonym_table, nli_files, count=8)
    batches = [tensors(model, instances[:4]), tensors(model, instances[4:])]
    parameters = [p for p in reference._transformer.parameters() if p.requires_grad]
    sums = {"task_loss": 0.0, "attention_pull_loss": 0.0, "embedding_push_loss": 0.0}
    for batch in batches:
        output = reference(**batch)
        for key in sums:
            grads = torch.autograd.grad(output[key], parameters, retain_graph=True, allow_unused=True)
            sums[key] += float(torch.sqrt(sum((g.double() ** 2).sum() for g in grads if g is not None)))

    first = model(**batches[0])  # measuring: the configured weights still apply
    assert first["loss"].item() == pytest.approx(
        (first["task_loss"] + first["robust_targets_loss"] + 0.1 * first["embedding_push_loss"]
         + 100 * first["attention_pull_loss"]).item(), rel=1e-5)
    model(**batches[1])
    metrics = model.get_metrics()
    assert metrics["weight_attention_pull"] == pytest.approx(0.5 * sums["task_loss"] / sums["attention_pull_loss"], rel=1e-2)
    assert metrics["weight_embedding_push"] == pytest.approx(0.01 * sums["task_loss"] / sums["embedding_push_loss"], rel=1e-2)
    third = model(**batches[0])  # frozen: the balanced weights apply
    weights = {"robust_targets": 1.0, "embedding_push": metrics["weight_embedding_push"],
               "attention_pull": metrics["weight_attention_pull"]}
    expected = third["task_loss"] + sum(w * third[f"{name}_loss"] for name, w in weights.items())
    assert third["loss"].item() == pytest.approx(expected.item(), rel=1e-5)
    assert float(model.state_dict()["_balanced_weights"][2]) == pytest.approx(metrics["weight_attention_pull"])
    with pytest.raises(ConfigurationError, match="`balance` must map"):
        build(tiny_encoders["tiny-bert"], nli_files, synonym_table, EAPR_BALANCE="attention_push=0.5")


def test_ramp_up_scales_a_terms_weight_by_the_sigmoid_ramp_and_is_saved_with_the_model(tiny_encoders, synonym_table, nli_files):
    """The applied weight after n training batches is w·exp(−5(1 − min(1, n/N))²), computed here
    from the formula; evaluation does not advance the ramp; a model loaded from the state dict
    continues it; an unknown term or N < 1 is an error naming the setting."""
    model = _without_dropout(build(tiny_encoders["tiny-bert"], nli_files, synonym_table, method="consistency",
                                   EAPR_PC_WEIGHT="5", EAPR_RAMP_UP="prediction_consistency=3"))
    batch = tensors(model, batch_for(tiny_encoders["tiny-bert"], synonym_table, nli_files))
    for n in range(5):
        if n == 2:  # evaluation between training batches leaves the count alone
            with torch.no_grad():
                model.eval()(**batch)
            model.train()
        out = model(**batch)
        ramp = math.exp(-5.0 * (1.0 - min(1.0, n / 3)) ** 2)
        expected = out["task_loss"] + out["robust_targets_loss"] + 5.0 * ramp * out["prediction_consistency_loss"]
        assert out["loss"].item() == pytest.approx(expected.item(), rel=1e-6)
        following = math.exp(-5.0 * (1.0 - min(1.0, (n + 1) / 3)) ** 2)  # the metric: the next batch's weight
        assert model.get_metrics(reset=True)["weight_prediction_consistency"] == pytest.approx(5.0 * following)
    assert int(model.state_dict()["_ramp_seen"]) == 5
    fresh = build(tiny_encoders["tiny-bert"], nli_files, synonym_table, method="consistency",
                  EAPR_PC_WEIGHT="5", EAPR_RAMP_UP="prediction_consistency=30")
    fresh.load_state_dict(model.state_dict())
    assert fresh.get_metrics()["weight_prediction_consistency"] == pytest.approx(5.0 * math.exp(-5.0 * (1 - 5 / 30) ** 2))
    plain = build(tiny_encoders["tiny-bert"], nli_files, synonym_table, method="consistency")
    assert "_ramp_seen" not in plain.state_dict() and "weight_prediction_consistency" not in plain.get_metrics()
    for value in ("attention_pull=10", "prediction_consistency=0"):
        with pytest.raises(ConfigurationError, match=r"`ramp_up` must map.*EAPR_RAMP_UP"):
            build(tiny_encoders["tiny-bert"], nli_files, synonym_table, method="consistency", EAPR_RAMP_UP=value)


def test_freeze_keeps_the_matched_parameters_out_of_training_and_names_the_setting(tiny_encoders, synonym_table, nli_files):
    """EAPR_FREEZE: the parameters its regexes match get no gradient and are left out of the
    optimizer AllenNLP's trainer builds (it takes `requires_grad` parameters only); every other
    parameter, the head's included, still trains; a pattern that matches nothing, a broken regex
    or freezing everything is an error naming EAPR_FREEZE."""
    model = build(tiny_encoders["tiny-bert"], nli_files, synonym_table, method="eapr_no_push",
                  EAPR_FREEZE="embeddings,encoder\\.layer\\.0\\.")
    named = dict(model.named_parameters())
    expected = {n for n in named if ".transformer_model.embeddings." in n or ".transformer_model.encoder.layer.0." in n}
    assert expected and {n for n, p in named.items() if not p.requires_grad} == expected
    batch = tensors(model, batch_for(tiny_encoders["tiny-bert"], synonym_table, nli_files))
    model(**batch)["loss"].backward()
    assert all(named[n].grad is None for n in expected)
    trained = [n for n, p in named.items() if n not in expected and p.grad is not None and p.grad.abs().sum() > 0]
    assert any(".encoder.layer.1." in n for n in trained) and any("_classification_layer" in n for n in trained)
    # Embedding-Push acts on the embedding layer alone: frozen, the term would be off in training
    pushed = build(tiny_encoders["tiny-bert"], nli_files, synonym_table, EAPR_FREEZE="embeddings")
    with pytest.raises(ConfigurationError, match="'embedding_push' .* reaches no trainable parameter.*EAPR_FREEZE"):
        pushed(**batch)
    with torch.no_grad():
        assert torch.isfinite(pushed.eval()(**batch)["loss"])  # evaluation trains nothing: no error
    build(tiny_encoders["tiny-bert"], nli_files, synonym_table, method="eapr_no_push", EAPR_FREEZE="embeddings")(**batch)
    unfrozen = build(tiny_encoders["tiny-bert"], nli_files, synonym_table)
    assert all(p.requires_grad for p in unfrozen.parameters())
    for value, message in (("embedings", "matches no parameter"), ("layer[", "not a regular expression"),
                           (".", "matches every parameter")):
        with pytest.raises(ConfigurationError, match=f"{message}.*EAPR_FREEZE"):
            build(tiny_encoders["tiny-bert"], nli_files, synonym_table, EAPR_FREEZE=value)


def test_masked_mode_truncates_exactly_as_exact_mode(tiny_encoders, synonym_table, nli_files):
    """Both modes read the same instances: the tokenizer truncates at EAPR_MAX_LENGTH in either, and
    only the padding the model adds for the pulled layer differs."""
    streams = {}
    for mode in ("exact", "masked"):
        instances = batch_for(tiny_encoders["tiny-xlmr"], synonym_table, nli_files, count=40, EAPR_AP_MODE=mode,
                              EAPR_MAX_LENGTH="12")
        streams[mode] = [[t.text_id for t in i[f].tokens] for i in instances for f in ("tokens", "perturbed_tokens")]
    assert streams["exact"] == streams["masked"]
    assert max(len(s) for s in streams["masked"]) == 12  # long pairs were cut at max_length
