"""`fused_adamw`: the recipe's optimizer is torch's fused AdamW and follows the same updates as the
loop AdamW the release used (torch's `foreach=False` implementation, computed independently here)."""
import torch
from allennlp.common import Params
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
