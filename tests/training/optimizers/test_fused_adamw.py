"""`fused_adamw`: the recipe's optimizer is torch's fused AdamW and follows the same updates as the
loop AdamW the release used (torch's `foreach=False` implementation, computed independently here)."""
import pytest
import torch
from allennlp.common import Params
from allennlp.common.checks import ConfigurationError
from allennlp.training.optimizers import Optimizer

from eapr_plugin.training.optimizers import FusedAdamWOptimizer


def model_and_grads(seed):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Embedding(50, 8), torch.nn.Linear(8, 3))
    return model


def test_fused_follows_the_loop_adamw():
    fused_model, loop_model = model_and_grads(0), model_and_grads(0)
    fused = Optimizer.from_params(model_parameters=list(fused_model.named_parameters()),
                                  params=Params({"type": "fused_adamw", "lr": 1e-2, "eps": 1e-8, "weight_decay": 0.01}))
    assert isinstance(fused, FusedAdamWOptimizer) and fused.defaults["fused"]
    loop = torch.optim.AdamW(loop_model.parameters(), lr=1e-2, eps=1e-8, weight_decay=0.01, foreach=False)
    generator = torch.Generator().manual_seed(1)
    for _ in range(5):
        ids = torch.randint(0, 50, (4, 6), generator=generator)
        for model, optimizer in ((fused_model, fused), (loop_model, loop)):
            optimizer.zero_grad()
            model(ids).pow(2).mean().backward()
            optimizer.step()
    for (name, a), (_, b) in zip(fused_model.named_parameters(), loop_model.named_parameters()):
        assert torch.allclose(a, b, atol=1e-6), name
        assert not torch.equal(a, model_and_grads(0).state_dict()[name]), name  # it did move


def test_the_loop_is_one_setting_away():
    model = model_and_grads(0)
    optimizer = Optimizer.from_params(model_parameters=list(model.named_parameters()),
                                      params=Params({"type": "fused_adamw", "fused": False}))
    assert not optimizer.defaults["fused"]


class Encoder(torch.nn.Module):
    """HF BERT's parameter names: `embeddings.*`, `encoder.layer.<i>.*`, and a head outside them."""

    def __init__(self, layers=4):
        super().__init__()
        self.embeddings = torch.nn.Module()
        self.embeddings.word_embeddings = torch.nn.Embedding(20, 4)
        self.encoder = torch.nn.Module()
        self.encoder.layer = torch.nn.ModuleList(torch.nn.Linear(4, 4) for _ in range(layers))
        self.head = torch.nn.Linear(4, 2)


def optimizer_for(model, **settings):
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    return Optimizer.from_params(model_parameters=named, params=Params({"type": "fused_adamw", "lr": 1e-3, **settings}))


def test_layer_lr_decay_gives_each_layer_its_rate():
    model = Encoder(layers=4)
    optimizer = optimizer_for(model, layer_lr_decay=0.5)
    rate = {id(p): group["lr"] for group in optimizer.param_groups for p in group["params"]}
    expected = {"embeddings.word_embeddings.weight": 1e-3 * 0.5**4, "head.weight": 1e-3, "head.bias": 1e-3}
    for i in range(4):
        expected[f"encoder.layer.{i}.weight"] = expected[f"encoder.layer.{i}.bias"] = 1e-3 * 0.5 ** (3 - i)
    assert {n: rate[id(p)] for n, p in model.named_parameters()} == pytest.approx(expected)
    assert len(optimizer.param_groups) == 5  # one group per distinct rate
    # frozen lower layers are not given to the optimizer; the depth is still the encoder's
    model.embeddings.requires_grad_(False)
    model.encoder.layer[0].requires_grad_(False)
    optimizer = optimizer_for(model, layer_lr_decay=0.5)
    rate = {id(p): group["lr"] for group in optimizer.param_groups for p in group["params"]}
    assert rate[id(model.encoder.layer[1].weight)] == pytest.approx(1e-3 * 0.25)
    assert rate[id(model.encoder.layer[3].weight)] == pytest.approx(1e-3)
    assert id(model.encoder.layer[0].weight) not in rate


def test_layer_lr_decay_updates_follow_the_rates():
    """AdamW's first step moves each parameter by about its rate (Adam's normalised step), so the
    lowest layer moves decay^(L-1) as far as the top one."""
    model = Encoder(layers=3)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    optimizer = optimizer_for(model, layer_lr_decay=0.1, weight_decay=0.0)
    model.head(model.encoder.layer[2](model.encoder.layer[1](model.encoder.layer[0](
        model.embeddings.word_embeddings(torch.arange(6)))))).pow(2).sum().backward()
    optimizer.step()
    moved = {n: (p.detach() - before[n]).abs().max().item() for n, p in model.named_parameters()}
    # (float32 weights of magnitude ~1 resolve a 1e-6 step to a few per cent; the rates differ 10x)
    assert moved["encoder.layer.2.weight"] == pytest.approx(1e-3, rel=0.1)
    assert moved["encoder.layer.0.weight"] == pytest.approx(1e-5, rel=0.1)
    assert moved["embeddings.word_embeddings.weight"] == pytest.approx(1e-6, rel=0.1)


@pytest.mark.parametrize("settings, message", [
    ({"layer_lr_decay": 0.0}, "must be in \\(0, 1\\]"),
    ({"layer_lr_decay": 1.5}, "must be in \\(0, 1\\]"),
    ({"layer_lr_decay": 0.5, "parameter_groups": [[["head"], {"lr": 1e-2}]]}, "not both"),
])
def test_layer_lr_decay_refusals(settings, message):
    with pytest.raises(ConfigurationError, match=message):
        optimizer_for(Encoder(), **settings)


def test_layer_lr_decay_needs_named_layers():
    with pytest.raises(ConfigurationError, match="no trained parameter's name holds 'layer.<i>.'"):
        optimizer_for(model_and_grads(0), layer_lr_decay=0.5)


@pytest.mark.parametrize("encoder", ["tiny-bert", "tiny-xlmr"])
def test_the_recipe_decays_an_hf_encoders_layers(encoder, tiny_encoders, nli_files, synonym_table):
    """EAPR_LAYER_LR_DECAY with EAPR_FREEZE=embeddings on the recipe's model (BERT- and XLM-R-type
    encoders' own parameter names): the optimizer AllenNLP's trainer builds (trained parameters
    only) gives layer i of L the rate lr x 0.5^(L-1-i) and the head lr; the frozen embeddings get none."""
    from scripts.recipe import build_model, recipe_params
    from tests.support.tasks import tiny_ext_vars

    params = recipe_params(**tiny_ext_vars(tiny_encoders[encoder], nli_files["en"], nli_files["en"], synonym_table,
                                           EAPR_TASK="xnli", EAPR_METHOD="two_stream_ce", EAPR_FREEZE="embeddings",
                                           EAPR_LAYER_LR_DECAY="0.5"))
    model = build_model(params.duplicate())
    optimizer_params = params["trainer"]["optimizer"]
    assert optimizer_params["layer_lr_decay"] == 0.5
    trained = [[n, p] for n, p in model.named_parameters() if p.requires_grad]
    optimizer = Optimizer.from_params(model_parameters=trained, params=optimizer_params.duplicate())
    rate = {id(p): group["lr"] for group in optimizer.param_groups for p in group["params"]}
    lr = float(params["trainer"]["optimizer"]["lr"])
    from transformers import AutoConfig

    layers = AutoConfig.from_pretrained(tiny_encoders[encoder]).num_hidden_layers
    depth = {n: int(n.split(".layer.")[1].split(".")[0]) for n, _ in trained if ".encoder.layer." in n}
    assert layers >= 2 and set(depth.values()) == set(range(layers))
    for name, parameter in trained:
        expected = lr * 0.5 ** (layers - 1 - depth[name]) if name in depth else lr
        assert rate[id(parameter)] == pytest.approx(expected), name
    assert any("_classification_layer" in n and rate[id(p)] == pytest.approx(lr) for n, p in trained)
    assert not any(".embeddings." in n for n, _ in trained) and len(rate) == len(trained)
