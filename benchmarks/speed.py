"""
Speed and memory of an EAPR training step, side by side in one run on the same encoder and batch.

Variants (each a full forward + backward + AdamW step on the same batch of pairs):
  plain          plain fine-tuning: one stream, CE                          (the denominator)
  eapr_exact     EAPR, Attention-Pull exact mode (padded to --max-length), one-layer capture
  eapr_masked    EAPR, Attention-Pull masked mode (dynamic padding), one-layer capture
  eapr_all_layers  EAPR exact, attention of every layer requested (HF output_attentions=True)
Timing interleaves the variants round by round (A B C D A B C D ...), so machine noise hits all
of them alike, and reports the median step time and the ratio to `plain` (the floor for EAPR is
2.0: two streams). Peak memory: each variant runs alone in a fresh subprocess (CPU: peak RSS;
GPU: torch.cuda.max_memory_allocated), before the parent process builds anything.

It also compares AllenNLP's GradientDescentTrainer with a bare torch loop doing the same EAPR
steps (same model, batches, optimizer, grad-norm clipping).

    python benchmarks/speed.py --encoder DIR [--batch-size 16] [--max-length 64] [--steps 10]
        [--data FILE.tsv] [--out benchmarks/results/speed.json]
"""
import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Dict, List

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

VARIANTS = {
    "plain": None,
    "eapr_exact": {"mode": "exact", "capture": "one_layer"},
    "eapr_masked": {"mode": "masked", "capture": "one_layer"},
    "eapr_all_layers": {"mode": "exact", "capture": "all_layers"},
}


def build(args, variant: str):
    """(model, batch tensors, optimizer) for one variant, all from the same seed and data, built by
    the recipe (`training_configs/`) exactly as `allennlp train` builds them."""
    from allennlp.data import Batch, Vocabulary
    from allennlp.nn.util import move_to_device

    from scripts.recipe import build_reader, recipe_params

    spec = VARIANTS[variant]
    params = recipe_params(
        EAPR_TASK="xnli", EAPR_METHOD="baseline" if spec is None else "eapr", EAPR_ENCODER=args.encoder,
        EAPR_SYNONYMS=args.synonyms, EAPR_MAX_LENGTH=args.max_length, EAPR_LAYER=args.layer,
        EAPR_AP_MODE="exact" if spec is None else spec["mode"], EAPR_NUM_PERTURBATIONS=1,
        **({"EAPR_HEAD": args.head} if args.head else {}),
    )
    instances = list(build_reader(params).read(args.data))[: args.batch_size]
    vocab = Vocabulary.from_instances(instances)
    model_params = params.get("model")
    model_params["attention_capture"] = "one_layer" if spec is None else spec["capture"]
    torch.manual_seed(0)
    from allennlp.models import Model

    model = Model.from_params(vocab=vocab, params=model_params)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model.to(device).train()
    batch = Batch(instances)
    batch.index_instances(vocab)
    tensors = move_to_device(batch.as_tensor_dict(), device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5, eps=1e-8, weight_decay=0.0)
    return model, tensors, optimizer, instances


def step(model, tensors, optimizer) -> float:
    synchronize()
    start = time.perf_counter()
    optimizer.zero_grad()
    loss = model(**tensors)["loss"]
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    synchronize()
    return time.perf_counter() - start


def synchronize() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def time_variants(args) -> Dict[str, List[float]]:
    built = {name: build(args, name) for name in VARIANTS}
    times: Dict[str, List[float]] = {name: [] for name in VARIANTS}
    for name, (model, tensors, optimizer, _) in built.items():
        for _ in range(args.warmup):
            step(model, tensors, optimizer)
    for round_index in range(args.steps):
        for name, (model, tensors, optimizer, _) in built.items():
            times[name].append(step(model, tensors, optimizer))
        print(f"round {round_index + 1}/{args.steps}: " +
              "  ".join(f"{n} {times[n][-1]:.3f}s" for n in VARIANTS), flush=True)
    return times


def peak_memory_one(args, variant: str) -> float:
    """Run warm-up + steps of one variant in this (fresh) process; return peak memory in MB."""
    model, tensors, optimizer, _ = build(args, variant)
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    for _ in range(2):
        step(model, tensors, optimizer)
    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**20
    return peak_rss_mb()


def peak_rss_mb() -> float:
    """This process's peak resident memory. VmHWM, unlike ru_maxrss, is not inherited from the
    parent across fork/exec, so each measuring subprocess reports only its own peak."""
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def trainer_vs_bare_loop(args) -> Dict[str, float]:
    """Seconds per step: AllenNLP's GradientDescentTrainer vs a bare torch loop, same EAPR steps."""
    from allennlp.data.data_loaders import SimpleDataLoader
    from allennlp.training import GradientDescentTrainer

    model, _, optimizer, instances = build(args, "eapr_exact")
    loader = SimpleDataLoader(instances * args.steps, args.batch_size, shuffle=False, vocab=model.vocab)
    batches = list(loader)
    device = next(model.parameters()).device
    from allennlp.nn.util import move_to_device

    for batch in batches[: args.warmup]:
        step(model, move_to_device(batch, device), optimizer)
    start = time.perf_counter()
    for batch in batches:
        step(model, move_to_device(batch, device), optimizer)
    bare = (time.perf_counter() - start) / len(batches)

    trainer = GradientDescentTrainer(
        model=model, optimizer=optimizer, data_loader=loader, num_epochs=1, grad_norm=1.0,
        cuda_device=0 if torch.cuda.is_available() else -1, serialization_dir=None,
        enable_default_callbacks=False,
    )
    start = time.perf_counter()
    trainer.train()
    allennlp_time = (time.perf_counter() - start) / len(batches)
    return {"bare_torch_step_s": bare, "allennlp_trainer_step_s": allennlp_time,
            "allennlp_over_bare": allennlp_time / bare}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--encoder", required=True, help="HF model folder or name")
    parser.add_argument("--data", required=True, help="XTREME-layout pair TSV (e.g. ../shared/data/xnli/dev-en.tsv)")
    parser.add_argument("--synonyms", required=True, help="synonym table (counterfitted_neighbors.json)")
    parser.add_argument("--head", default=None, help="EAPR_HEAD (default: the recipe's, by encoder name)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--layer", type=int, default=5)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "speed.json"))
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)  # internal: memory of one variant
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.one:
        print(json.dumps({"peak_mb": peak_memory_one(args, args.one)}))
        return

    memory = {}
    for name in VARIANTS:
        command = [sys.executable, __file__, "--one", name, "--encoder", args.encoder,
                   "--data", args.data, "--synonyms", args.synonyms, "--batch-size", str(args.batch_size),
                   "--max-length", str(args.max_length), "--layer", str(args.layer)]
        if args.head:
            command += ["--head", args.head]
        if args.threads:
            command += ["--threads", str(args.threads)]
        result = subprocess.run(command, capture_output=True, text=True, check=True)
        memory[name] = json.loads(result.stdout.strip().splitlines()[-1])["peak_mb"]
    times = time_variants(args)
    medians = {name: statistics.median(values) for name, values in times.items()}
    loop = trainer_vs_bare_loop(args)
    import transformers
    import allennlp

    report = {
        "date": date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, torch threads {torch.get_num_threads()}, "
                   + ("GPU " + torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"),
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                     "allennlp": allennlp.__version__, "python": platform.python_version()},
        "settings": {k: v for k, v in vars(args).items() if k not in ("one",)},
        "median_step_s": medians,
        "step_times_s": times,
        "eapr_over_plain_step_time": medians["eapr_exact"] / medians["plain"],
        "eapr_masked_over_plain_step_time": medians["eapr_masked"] / medians["plain"],
        "exact_over_masked_step_time": medians["eapr_exact"] / medians["eapr_masked"],
        "all_layers_over_one_layer_step_time": medians["eapr_all_layers"] / medians["eapr_exact"],
        "peak_memory_mb": memory,
        "trainer_vs_bare_loop": loop,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2))
    print(json.dumps({k: report[k] for k in (
        "median_step_s", "eapr_over_plain_step_time", "eapr_masked_over_plain_step_time",
        "exact_over_masked_step_time", "all_layers_over_one_layer_step_time", "peak_memory_mb",
        "trainer_vs_bare_loop")}, indent=2))


if __name__ == "__main__":
    main()
