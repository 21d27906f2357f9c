"""
How much each weighted EAPR term moves the encoder: the gradient norm, over the encoder's
parameters, of the task CE and of each *weighted* term (1·RT, α·EP, β·AP), taken separately on the
same batches, at the start of training and after `--steps` training steps (AdamW, the paper's
update with grad-norm clipping 1.0). With the paper's weights some terms may barely move the
encoder; this measures it instead of assuming it.

    python benchmarks/term_influence.py --encoder DIR --task sib200 --train FILE --synonyms FILE \
        [--alpha 0.1] [--beta 1.0] [--steps 100] [--batches 4] [--out JSON]
"""
import argparse
import json
import random
import sys
from datetime import date
from pathlib import Path
from typing import Dict, List

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def build(args):
    """The recipe's EAPR model and training reader (`training_configs/`), with these weights."""
    from allennlp.data import Vocabulary
    from allennlp.models import Model

    from scripts.recipe import build_reader, recipe_params

    params = recipe_params(
        EAPR_TASK=args.task, EAPR_METHOD="eapr", EAPR_ENCODER=args.encoder, EAPR_SYNONYMS=args.synonyms,
        EAPR_ALPHA=args.alpha, EAPR_BETA=args.beta, EAPR_LAYER=args.layer, EAPR_AP_MODE=args.ap_mode,
        EAPR_MAX_LENGTH=args.max_length, EAPR_NUM_PERTURBATIONS=args.num_perturbations, EAPR_SEED=args.seed,
        **({"EAPR_HEAD": args.head} if args.head else {}),
    )
    instances = list(build_reader(params).read(args.train))
    vocab = Vocabulary.from_instances(instances)
    torch.manual_seed(args.seed)
    model = Model.from_params(vocab=vocab, params=params.get("model"))
    return model, instances


def batches(model, instances, batch_size, count, seed):
    from allennlp.data import Batch

    rng = random.Random(seed)
    chosen = rng.sample(instances, min(len(instances), batch_size * count))
    for start in range(0, len(chosen), batch_size):
        batch = Batch(chosen[start : start + batch_size])
        batch.index_instances(model.vocab)
        yield batch.as_tensor_dict()


def gradient_norms(model, tensor_batches: List[dict]) -> Dict[str, float]:
    """Mean over batches of ||∂(weighted term)/∂θ_encoder||₂ for each term."""
    encoder = [p for p in model._transformer.parameters() if p.requires_grad]
    weights = {f"{t.name}_loss": t.weight for t in model._loss_terms}
    sums: Dict[str, float] = {}
    model.train()
    for tensors in tensor_batches:
        output = model(**tensors)
        keys = ["task_loss"] + list(weights)
        for index, key in enumerate(keys):
            value = output[key] * weights.get(key, 1.0)
            grads = torch.autograd.grad(value, encoder, retain_graph=index < len(keys) - 1, allow_unused=True)
            norm = torch.sqrt(sum((g.float() ** 2).sum() for g in grads if g is not None))
            sums[key] = sums.get(key, 0.0) + float(norm)
    return {key: value / len(tensor_batches) for key, value in sums.items()}


def train(model, instances, args) -> List[float]:
    from allennlp.data.data_loaders import SimpleDataLoader

    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, eps=1e-8, weight_decay=0.0)
    loader = SimpleDataLoader(instances, args.batch_size, shuffle=True, vocab=model.vocab)
    losses, done = [], 0
    model.train()
    while done < args.steps:
        for tensors in loader:
            optimizer.zero_grad()
            loss = model(**tensors)["loss"]
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            losses.append(float(loss))
            done += 1
            if done >= args.steps:
                break
    return losses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--encoder", required=True)
    parser.add_argument("--task", default="sib200", choices=["sib200", "xnli", "pawsx"])
    parser.add_argument("--train", required=True)
    parser.add_argument("--synonyms", required=True)
    parser.add_argument("--alpha", type=float, default=0.1)
    parser.add_argument("--beta", type=float, default=1.0)
    parser.add_argument("--layer", type=int, default=5)
    parser.add_argument("--ap-mode", default="exact", choices=["exact", "masked"])
    parser.add_argument("--head", default=None)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--num-perturbations", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--batches", type=int, default=4, help="batches averaged per measurement")
    parser.add_argument("--steps", type=int, default=100, help="training steps between the measurements")
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "term_influence.json"))
    args = parser.parse_args()

    model, instances = build(args)
    fixed = list(batches(model, instances, args.batch_size, args.batches, args.seed))
    start = gradient_norms(model, fixed)
    losses = train(model, instances, args)
    end = gradient_norms(model, fixed)
    from environment import machine, versions  # benchmarks/, this script's folder

    report = {
        "date": date.today().isoformat(),
        "machine": machine(), "versions": versions(),
        "settings": vars(args),
        "grad_norm_start": start,
        "grad_norm_end": end,
        "ratio_to_task_start": {k: v / start["task_loss"] for k, v in start.items()},
        "ratio_to_task_end": {k: v / end["task_loss"] for k, v in end.items()},
        "training_loss_first_last": [losses[0], losses[-1]] if losses else None,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2))
    print(json.dumps({k: report[k] for k in ("grad_norm_start", "grad_norm_end", "ratio_to_task_start",
                                              "ratio_to_task_end")}, indent=2))


if __name__ == "__main__":
    main()
