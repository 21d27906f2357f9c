import logging
import re
from typing import Any, Dict, List, Tuple

import torch
from allennlp.common.checks import ConfigurationError
from allennlp.training.optimizers import Optimizer, make_parameter_groups

logger = logging.getLogger(__name__)

# HF BERT / XLM-R parameter names: `...encoder.layer.<i>.` for layer i, `...embeddings.` below them
LAYER = re.compile(r"(?:^|\.)layer\.(\d+)\.")
EMBEDDINGS = re.compile(r"(?:^|\.)embeddings\.")


def layerwise_groups(
    model_parameters: List[Tuple[str, torch.nn.Parameter]], lr: float, decay: float
) -> List[Dict[str, Any]]:
    """
    Layer-wise learning-rate decay ("discriminative fine-tuning", Howard and Ruder, ACL 2018; the
    layer-wise decay of Clark et al., ICLR 2020): with `L` encoder layers, layer `i` (0-based) learns
    at `lr * decay ** (L - 1 - i)`, the embedding layer at `lr * decay ** L`, and every parameter
    outside the encoder's layers and embeddings (the pooler, the head) at `lr`. `L` is one more than
    the highest layer index among the parameters given (the trained ones: frozen layers are not
    passed to the optimizer and keep their share of the depth). One group per distinct rate.
    """
    if not 0 < decay <= 1:
        raise ConfigurationError(f"fused_adamw: layer_lr_decay must be in (0, 1], got {decay} (EAPR_LAYER_LR_DECAY)")
    depths = {name: int(match.group(1)) for name, _ in model_parameters if (match := LAYER.search(name))}
    if not depths:
        raise ConfigurationError(
            f"fused_adamw: layer_lr_decay = {decay}, but no trained parameter's name holds 'layer.<i>.' "
            "(an HF BERT / XLM-R encoder's layers); nothing to decay (EAPR_LAYER_LR_DECAY)"
        )
    layers = max(depths.values()) + 1
    groups: Dict[float, List[torch.nn.Parameter]] = {}
    for name, parameter in model_parameters:
        if name in depths:
            power = layers - 1 - depths[name]
        elif EMBEDDINGS.search(name):
            power = layers
        else:
            power = 0
        groups.setdefault(decay**power, []).append(parameter)
    for factor in sorted(groups):
        logger.info("fused_adamw: %d parameter tensors at lr %.3g (x %.4g)", len(groups[factor]), lr * factor, factor)
    return [{"params": groups[factor], "lr": lr * factor} for factor in sorted(groups, reverse=True)]


@Optimizer.register("fused_adamw")
class FusedAdamWOptimizer(Optimizer, torch.optim.AdamW):
    """
    AdamW (Loshchilov and Hutter, ICLR 2019; with bias correction, as the release's `transformers`
    AdamW) computed by torch's fused kernel (`fused=True`, on CPU and CUDA) instead of a Python loop
    over the parameters: the same update rule, one kernel per step. It matters here because the
    multilingual encoders' word-embedding matrices are large (mBERT 92M, XLM-R 192M parameters) and
    every step updates all of them: on the CPU, one AdamW step over a 12-layer multilingual-E5
    (117M parameters) took 1.8 s as a loop and 0.23 s fused. Results equal the loop's up to
    floating-point rounding (tested); `--recover` stays exact (the state is AdamW's own).
    AllenNLP's `"adamw"` takes no `fused` argument, hence this class. `layer_lr_decay` below 1 gives
    the lower encoder layers smaller learning rates (see `layerwise_groups`; a deviation from the
    paper, which trains every parameter at one rate).

    Registered as an `Optimizer` with name "fused_adamw".

    # Parameters

    model_parameters, parameter_groups, lr, betas, eps, weight_decay, amsgrad
        As AllenNLP's `"adamw"`.
    fused : `bool`, optional (default = `True`)
        False computes the same update with torch's loop implementation.
    layer_lr_decay : `float`, optional (default = `1.0`)
        In (0, 1]: layer `i` of `L` learns at `lr * layer_lr_decay ** (L - 1 - i)`, the embeddings at
        `lr * layer_lr_decay ** L`, the rest at `lr`. 1.0 (every parameter at `lr`) is the paper's.
        Not combined with `parameter_groups`.
    """

    def __init__(
        self,
        model_parameters: List[Tuple[str, torch.nn.Parameter]],
        parameter_groups: List[Tuple[List[str], Dict[str, Any]]] = None,
        lr: float = 0.001,
        betas: Tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-08,
        weight_decay: float = 0.01,
        amsgrad: bool = False,
        fused: bool = True,
        layer_lr_decay: float = 1.0,
    ) -> None:
        if layer_lr_decay != 1.0 and parameter_groups:
            raise ConfigurationError("fused_adamw: set layer_lr_decay or parameter_groups, not both")
        super().__init__(
            params=(make_parameter_groups(model_parameters, parameter_groups) if layer_lr_decay == 1.0
                    else layerwise_groups(model_parameters, lr, layer_lr_decay)),
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            fused=fused,
            foreach=False if fused else None,
        )
