"""
EaprClassifier: every term's value pinned against an independent computation on the HF encoder,
gradients from every term, the RS-DA / inference equivalences, and AllenNLP's train/save/load.
"""
import copy
import json

import pytest
import torch
from allennlp.common import Params
from allennlp.common.checks import ConfigurationError
from allennlp.common.testing import ModelTestCase
from allennlp.data import Batch, Vocabulary
from allennlp.models import Model

from eapr_plugin.dataset_readers import XnliReader
from eapr_plugin.perturbers import SynonymPerturber

ENCODERS = ["tiny-bert", "tiny-xlmr"]
TERMS = [
    {"type": "robust_targets", "weight": 1.0},
    {"type": "embedding_push", "weight": 0.1},
    {"type": "attention_pull", "weight": 1.0, "layer": 5, "max_length": 32},
]


def build(encoder_dir, loss_terms=TERMS, **model_kwargs):
    vocab = Vocabulary()
    vocab.add_tokens_to_namespace(["entailment", "neutral", "contradiction"], "labels")
    params = Params({
        "type": "eapr_classifier",
        "text_field_embedder": {
            "token_embedders": {"tokens": {"type": "pretrained_transformer", "model_name": encoder_dir}}
        },
        "loss_terms": copy.deepcopy(loss_terms),
        **model_kwargs,
    })
    return Model.from_params(vocab=vocab, params=params)


def batch_for(encoder_dir, synonym_table, nli_files, count=4, perturb=True):
    reader = XnliReader(
        tokenizer=_tokenizer(encoder_dir),
        perturber=SynonymPerturber(synonym_table) if perturb else None,
        num_perturbations=1,
    )
    instances = list(reader.read(nli_files["en"]))[:count]
    return instances


def _tokenizer(encoder_dir):
    from allennlp.data.tokenizers import PretrainedTransformerTokenizer

    return PretrainedTransformerTokenizer(encoder_dir, max_length=32)


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


def independent_logits(model, out, mask=None):
    head = model._head
    if head.kind == "bert_pooler":
        pooled = torch.tanh(
            out.last_hidden_state[:, 0] @ model._transformer.pooler.dense.weight.T
            + model._transformer.pooler.dense.bias
        )
        return pooled @ head.classifier.weight.T + head.classifier.bias
    if head.kind == "mean_pool":
        m = mask.float().unsqueeze(-1)
        pooled = (out.last_hidden_state * m).sum(1) / m.sum(1)
        return pooled @ head.classifier.weight.T + head.classifier.bias
    first = out.last_hidden_state[:, 0]
    dense = torch.tanh(first @ head.roberta_head.dense.weight.T + head.roberta_head.dense.bias)
    return dense @ head.roberta_head.out_proj.weight.T + head.roberta_head.out_proj.bias


@pytest.mark.parametrize("encoder, head", [("tiny-bert", None), ("tiny-xlmr", None), ("tiny-bert", "mean_pool")])
def test_every_term_matches_an_independent_computation(encoder, head, tiny_encoders, synonym_table, nli_files):
    model = build(tiny_encoders[encoder], **({"head": head} if head else {})).eval()  # eval: no dropout, so the values are exact
    instances = batch_for(tiny_encoders[encoder], synonym_table, nli_files)
    batch = tensors(model, instances)
    # the fixture perturbs at least one example, so the two streams differ
    assert [i["metadata"]["text_a"] for i in instances] != [i["metadata"]["perturbed_a"] for i in instances]
    with torch.no_grad():
        output = model(**batch)
        original, original_mask = independent_stream(model, batch["tokens"], 32)
        perturbed, perturbed_mask = independent_stream(model, batch["perturbed_tokens"], 32)
        label = batch["label"]

        def ce(logits):
            return (torch.logsumexp(logits, -1) - logits.gather(1, label.view(-1, 1)).squeeze(1)).mean()

        def mean(embeddings, mask):
            m = mask.float().unsqueeze(-1)
            return (embeddings * m).sum(1) / m.sum(1)

        expected = {
            "task_loss": ce(independent_logits(model, perturbed, perturbed_mask)),
            "robust_targets_loss": ce(independent_logits(model, original, original_mask)),
            "embedding_push_loss": -((mean(original.hidden_states[0], original_mask)
                                      - mean(perturbed.hidden_states[0], perturbed_mask)) ** 2).mean(),
            "attention_pull_loss": ((original.attentions[5] - perturbed.attentions[5]) ** 2).mean(),
        }
    for key, value in expected.items():
        assert output[key].dim() == 0
        assert output[key].item() == pytest.approx(value.item(), rel=1e-4, abs=1e-7), key
    total = expected["task_loss"] + expected["robust_targets_loss"] \
        + 0.1 * expected["embedding_push_loss"] + 1.0 * expected["attention_pull_loss"]
    assert output["loss"].item() == pytest.approx(total.item(), rel=1e-5)
    metrics = model.get_metrics()
    for key in expected:
        assert key in metrics


@pytest.mark.parametrize("encoder", ENCODERS)
def test_one_layer_capture_equals_all_layer_attentions(encoder, tiny_encoders, synonym_table, nli_files):
    instances = batch_for(tiny_encoders[encoder], synonym_table, nli_files)
    values = {}
    for capture in ("one_layer", "all_layers"):
        torch.manual_seed(0)
        model = build(tiny_encoders[encoder], attention_capture=capture)
        model.eval()
        with torch.no_grad():
            values[capture] = model(**tensors(model, instances))["attention_pull_loss"].item()
        assert model._transformer.config.output_attentions is False  # restored after the call
    assert values["one_layer"] == pytest.approx(values["all_layers"], rel=1e-5)


def test_masked_mode_runs_on_dynamic_padding(tiny_encoders, synonym_table, nli_files):
    terms = [{"type": "attention_pull", "mode": "masked", "layer": 5}]
    model = build(tiny_encoders["tiny-bert"], loss_terms=terms).eval()
    instances = batch_for(tiny_encoders["tiny-bert"], synonym_table, nli_files)
    batch = tensors(model, instances)
    with torch.no_grad():
        value = model(**batch)["attention_pull_loss"]
        original, om = independent_stream(model, batch["tokens"], batch["tokens"]["tokens"]["token_ids"].size(1))
        perturbed, pm = independent_stream(model, batch["perturbed_tokens"], batch["perturbed_tokens"]["tokens"]["token_ids"].size(1))
    expected = model._loss_terms[0](original.attentions[5], perturbed.attentions[5], om, pm)
    assert value.item() == pytest.approx(expected.item(), rel=1e-5)


@pytest.mark.parametrize("name", ["task", "robust_targets", "embedding_push", "attention_pull"])
def test_gradients_reach_the_encoder_from_every_term(name, tiny_encoders, synonym_table, nli_files):
    model = build(tiny_encoders["tiny-bert"])
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
    zero = build(tiny_encoders["tiny-bert"], loss_terms=[
        {"type": "embedding_push", "weight": 0.0},
        {"type": "attention_pull", "weight": 0.0, "layer": 5, "max_length": 32},
    ]).eval()
    rsda = build(tiny_encoders["tiny-bert"], loss_terms=[]).eval()
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


def test_inference_ignores_the_perturbation(tiny_encoders, synonym_table, nli_files):
    model = build(tiny_encoders["tiny-xlmr"]).eval()
    instances = batch_for(tiny_encoders["tiny-xlmr"], synonym_table, nli_files)
    batch = tensors(model, instances)
    with torch.no_grad():
        both = model(**batch)
        plain = model(tokens=batch["tokens"])
    assert torch.allclose(both["logits"], plain["logits"], atol=1e-6)
    assert set(plain) == {"logits", "probs"}


def test_layer_beyond_the_encoder_is_a_clear_error(tiny_encoders):
    with pytest.raises(ConfigurationError, match=r"`layer` = 6 is beyond .* 6 layers"):
        build(tiny_encoders["tiny-bert"], loss_terms=[{"type": "attention_pull", "layer": 6}])


def test_exact_mode_rejects_inputs_longer_than_max_length(tiny_encoders, synonym_table, nli_files):
    model = build(tiny_encoders["tiny-bert"], loss_terms=[{"type": "attention_pull", "layer": 5, "max_length": 8}])
    instances = batch_for(tiny_encoders["tiny-bert"], synonym_table, nli_files)
    with pytest.raises(ConfigurationError, match="max_length"):
        model(**tensors(model, instances))


def test_head_is_chosen_by_encoder_type(tiny_encoders):
    assert build(tiny_encoders["tiny-bert"])._head.kind == "bert_pooler"
    xlmr = build(tiny_encoders["tiny-xlmr"])
    assert xlmr._head.kind == "roberta"
    assert xlmr._transformer.pooler is None  # unused pooler removed (no DDP unused parameters)
    assert build(tiny_encoders["tiny-bert"], head="roberta")._head.kind == "roberta"
    mean = build(tiny_encoders["tiny-bert"], head="mean_pool")
    assert mean._head.kind == "mean_pool" and mean._transformer.pooler is None
    with pytest.raises(ConfigurationError, match="unknown `head`"):
        build(tiny_encoders["tiny-bert"], head="mlp")


def test_non_finite_term_stops_with_its_name(tiny_encoders, synonym_table, nli_files, monkeypatch):
    from eapr_plugin.losses import EmbeddingPush

    model = build(tiny_encoders["tiny-bert"])
    instances = batch_for(tiny_encoders["tiny-bert"], synonym_table, nli_files)
    model(**tensors(model, instances))  # one finite training batch
    monkeypatch.setattr(EmbeddingPush, "forward", lambda self, *args: torch.tensor(float("-inf")))
    with pytest.raises(FloatingPointError, match=r"'embedding_push_loss' is -inf at training batch 1.*max_distance"):
        model(**tensors(model, instances))


CONFIG = """
local encoder = "{encoder}";
local tokenizer = {{type: "pretrained_transformer", model_name: encoder, max_length: 32}};
{{
  dataset_reader: {{type: "xnli", tokenizer: tokenizer,
                   perturber: {{type: "synonym", table: "{synonyms}"}}, num_perturbations: 1}},
  validation_dataset_reader: {{type: "xnli", tokenizer: tokenizer}},
  train_data_path: "{train}",
  validation_data_path: "{dev}",
  model: {{type: "eapr_classifier",
    text_field_embedder: {{token_embedders: {{tokens: {{type: "pretrained_transformer", model_name: encoder}}}}}},
    loss_terms: {terms}}},
  data_loader: {{batch_size: 8}},
  trainer: {{num_epochs: 2, optimizer: {{type: "huggingface_adamw", lr: 1e-3}}, cuda_device: -1}},
}}
"""


@pytest.mark.parametrize("encoder", ENCODERS)
def test_train_save_and_load(encoder, tiny_encoders, synonym_table, nli_files, tmp_path):
    config = tmp_path / "config.jsonnet"
    config.write_text(CONFIG.format(
        encoder=tiny_encoders[encoder], synonyms=synonym_table, train=nli_files["en"],
        dev=nli_files["de"], terms=json.dumps(TERMS),
    ))
    case = ModelTestCase()
    case.setup_method()
    try:
        case.set_up_model(str(config), nli_files["en"])
        case.ensure_model_can_train_save_and_load(str(config), tolerance=1e-4)
    finally:
        case.teardown_method()
