"""
Speed (and peak memory) of one EAPR training step against a reference step that computes what the
authors' released code computes, the way it computes it; side by side on the same batch of real
pairs with our perturbation, interleaved round by round (A B C D E A B C D E ...) so machine noise
hits all variants alike.

Variants (each a full forward + backward + AdamW step, grad-norm clipping 1.0; the reference's AdamW
loops over the parameters as the release's `transformers` AdamW, the plugin's variants step the
recipe's optimizer, torch's fused AdamW):
  reference       the release's way: the HF encoder with eager attention asked for every layer's
                  hidden states and attention maps, both streams padded to --max-length, two
                  forward calls, the release's head; loss CE(x~) + CE(x) + 0.1·EP + 1.0·AP(layer)
  eapr_exact      the plugin's recipe model, Attention-Pull exact (padded to --max-length), one
                  encoder call for both streams, layers after the pulled one on the real length
  eapr_masked     the plugin's recipe model, Attention-Pull masked (dynamic padding)
  plain_padded    plain fine-tuning (the recipe's baseline), inputs padded to --max-length
  plain_dynamic   plain fine-tuning, dynamic padding
  plain_two_streams  plain fine-tuning on both streams' inputs as one batch: the original and the
                  perturbed copies stacked (2 × batch rows, padded to their common length as in
                  masked mode), the task CE on every row. No method that trains on both streams
                  (forward and backward through each) does less arithmetic, so this is the floor
                  of eapr_masked: what is left above it is EAPR's own work (the two terms, the
                  pulled layer's attention maps), below it nothing can go without dropping a stream
Ratios written to the JSON (per encoder and batch size):
  exact_speedup_over_reference      reference step time / eapr_exact step time (= pairs/s ratio)
  masked_speedup_over_reference     reference / eapr_masked
  eapr_over_plain_step_time         eapr_exact / plain_padded   (both padded to --max-length)
  eapr_masked_over_plain_step_time  eapr_masked / plain_dynamic (both dynamic)
  two_streams_over_plain_step_time  plain_two_streams / plain_dynamic: what training on both
                                    streams costs by itself, the lowest eapr_masked / plain_dynamic
                                    any two-stream method reaches on this machine
  eapr_masked_over_two_streams_step_time  eapr_masked / plain_two_streams (1.0 = at that floor)

`--random-init` times each encoder's architecture with random weights (its `config.json` and
tokenizer only): a step's time and memory do not depend on the weights' values, so a machine without
the weights (a lent GPU, say) measures the same steps; the JSON's settings record it.

On CUDA, `--amp bf16|fp16` runs every variant under autocast (fp16 with a gradient scaler); per
variant, `peak_memory_mb` is `torch.cuda.max_memory_allocated` during its step (all six variants'
weights and optimizer states stay resident on the device, so it includes theirs) and
`step_memory_mb` the step's own memory above what was allocated before it (activations, gradients,
temporaries: what a variant needs beyond its weights and optimizer state); on CPU `--memory` measures each
variant's peak resident memory in a fresh subprocess.

    python benchmarks/speed.py --encoders DIR6 DIR12 --batch-sizes 16 32 --data XNLI_DEV_EN.tsv \
        --synonyms counterfitted_neighbors.json [--max-length 128] [--rounds 7] [--device cuda --amp bf16]
"""
import argparse
import contextlib
import functools
import json
import resource
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any, Dict, List, Tuple

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

VARIANTS = ("reference", "eapr_exact", "eapr_masked", "plain_padded", "plain_dynamic", "plain_two_streams")
PAPER = {"alpha": 0.1, "beta": 1.0}  # the release's run-script weights (method.md)


def recipe_batch(args, encoder: str, batch_size: int, method: str, mode: str = "exact"):
    """The recipe's parameters, and one batch of its training instances with their vocabulary."""
    from allennlp.data import Batch, Vocabulary

    from scripts.recipe import build_reader, recipe_params

    params = recipe_params(EAPR_TASK="xnli", EAPR_METHOD=method, EAPR_ENCODER=encoder, EAPR_SYNONYMS=args.synonyms,
                           EAPR_MAX_LENGTH=args.max_length, EAPR_LAYER=args.layer, EAPR_AP_MODE=mode,
                           EAPR_NUM_PERTURBATIONS=1, **({"EAPR_HEAD": args.head} if args.head else {}))
    instances = list(build_reader(params).read(args.data))[:batch_size]
    vocab = Vocabulary.from_instances(instances)
    batch = Batch(instances)
    batch.index_instances(vocab)
    return params, vocab, batch.as_tensor_dict(), instances


def recipe_model(args, encoder: str, batch_size: int, method: str, mode: str = "exact"):
    """The recipe's model and one batch of its training instances (recipe = what users run)."""
    from allennlp.models import Model

    params, vocab, tensors, instances = recipe_batch(args, encoder, batch_size, method, mode)
    torch.manual_seed(0)
    model = Model.from_params(vocab=vocab, params=params.get("model"))
    return model, tensors, instances


class ReferenceStep(torch.nn.Module):
    """The released code's computation, written as it computes it (see the module docstring)."""

    def __init__(self, encoder: str, num_labels: int, layer: int) -> None:
        super().__init__()
        from transformers import AutoModel
        from transformers.models.roberta.modeling_roberta import RobertaClassificationHead

        self.encoder = AutoModel.from_pretrained(encoder, attn_implementation="eager")
        config = self.encoder.config
        self.roberta = config.model_type in ("roberta", "xlm-roberta")
        self.dropout = torch.nn.Dropout(config.hidden_dropout_prob)
        if self.roberta:
            config.num_labels = num_labels
            self.head = RobertaClassificationHead(config)
        else:
            self.head = torch.nn.Linear(config.hidden_size, num_labels)
        self.layer = layer

    def stream(self, ids, mask, types):
        out = self.encoder(input_ids=ids, attention_mask=mask, token_type_ids=types,
                           output_hidden_states=True, output_attentions=True)
        if self.roberta:
            logits = self.head(self.dropout(out.last_hidden_state))
        else:
            logits = self.head(self.dropout(out.pooler_output))
        weights = mask.unsqueeze(-1).float()
        mean = (out.hidden_states[0] * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
        return logits, mean, out.attentions[self.layer]

    def forward(self, original, perturbed, label):
        logits_o, mean_o, attention_o = self.stream(*original)
        logits_p, mean_p, attention_p = self.stream(*perturbed)
        ce = torch.nn.functional.cross_entropy
        push = -torch.nn.functional.mse_loss(mean_p, mean_o)
        pull = torch.nn.functional.mse_loss(attention_p, attention_o)
        return ce(logits_p, label) + ce(logits_o, label) + PAPER["alpha"] * push + PAPER["beta"] * pull


def padded_inputs(field, length: int, pad_id: int):
    tensors = field["tokens"]
    extra = length - tensors["token_ids"].size(1)
    pad = torch.nn.functional.pad
    return (pad(tensors["token_ids"], (0, extra), value=pad_id), pad(tensors["mask"].long(), (0, extra)),
            pad(tensors["type_ids"], (0, extra)))


def random_init_copy(encoder: str, out_dir: Path) -> str:
    """A copy of `encoder` (a folder) with the same config and tokenizer and random weights."""
    import shutil

    from transformers import AutoConfig, AutoModel

    out = out_dir / Path(encoder).name
    if not (out / "config.json").exists():
        torch.manual_seed(0)
        AutoModel.from_config(AutoConfig.from_pretrained(encoder)).save_pretrained(out)
        for name in Path(encoder).glob("*token*"):
            shutil.copy(name, out / name.name)
    return str(out)


def build(args, encoder: str, batch_size: int, variant: str, device: torch.device):
    """`(module, inputs, step function)` of one variant, on the same pairs."""
    from allennlp.nn.util import move_to_device

    if variant == "reference":
        model, tensors, _ = recipe_model(args, encoder, batch_size, "eapr")
        reference = ReferenceStep(encoder, model.vocab.get_vocab_size("labels"), args.layer).to(device)
        pad_id = reference.encoder.config.pad_token_id or 0
        inputs = tuple(move_to_device(padded_inputs(tensors[k], args.max_length, pad_id), device)
                       for k in ("tokens", "perturbed_tokens")) + (move_to_device(tensors["label"], device),)
        return reference, inputs, lambda module, inputs: module(*inputs)
    if variant == "plain_two_streams":
        model, tensors = two_streams_batch(args, encoder, batch_size)
        return model.to(device), move_to_device(tensors, device), lambda module, inputs: module(**inputs)["loss"]
    method, mode = {"eapr_exact": ("eapr", "exact"), "eapr_masked": ("eapr", "masked"),
                    "plain_padded": ("baseline", "exact"), "plain_dynamic": ("baseline", "exact")}[variant]
    model, tensors, _ = recipe_model(args, encoder, batch_size, method, mode)
    if variant == "plain_padded":
        tensors["tokens"] = model._pad(tensors["tokens"], args.max_length)
    return model.to(device), move_to_device(tensors, device), lambda module, inputs: module(**inputs)["loss"]


def two_streams_batch(args, encoder: str, batch_size: int):
    """Plain fine-tuning's model and one batch holding the EAPR batch's two streams as rows: the
    original pairs, then their perturbed copies, both padded to the longer stream's length (masked
    mode's common length); each copy keeps its pair's label."""
    _, _, pair_tensors, _ = recipe_batch(args, encoder, batch_size, "eapr", "masked")  # the batch, no EAPR model
    model, tensors, _ = recipe_model(args, encoder, batch_size, "baseline")
    streams = [pair_tensors["tokens"], pair_tensors["perturbed_tokens"]]
    length = max(stream["tokens"]["token_ids"].size(1) for stream in streams)
    streams = [model._pad(stream, length) for stream in streams]  # the same encoder's pad id as masked mode
    tensors["tokens"] = {indexer: {key: torch.cat([stream[indexer][key] for stream in streams])
                                   for key in streams[0][indexer]} for indexer in streams[0]}
    tensors["label"] = tensors["label"].repeat(2)  # the same pairs, in the same order, as the EAPR batch
    return model, tensors


@functools.lru_cache(maxsize=None)
def recipe_optimizer() -> Tuple[Tuple[str, Any], ...]:
    """The recipe's optimizer settings (`training_configs/eapr.libsonnet`), read once."""
    from scripts.recipe import recipe_params

    return tuple(recipe_params(EAPR_TASK="xnli", EAPR_METHOD="eapr")["trainer"]["optimizer"].as_dict().items())


def optimizer_of(variant: str, module: torch.nn.Module):
    """The recipe's AdamW settings for every variant; the reference computes the update as the
    release does (a loop over the parameters, transformers' AdamW), the plugin's variants with the
    recipe's optimizer (torch's fused AdamW)."""
    settings = dict(recipe_optimizer())
    if variant == "reference":
        return torch.optim.AdamW(module.parameters(), lr=settings["lr"], eps=settings["eps"],
                                 weight_decay=settings["weight_decay"], foreach=False)
    from allennlp.common import Params
    from allennlp.training.optimizers import Optimizer

    return Optimizer.from_params(model_parameters=list(module.named_parameters()), params=Params(settings))


def autocast(args, device):
    if device.type != "cuda" or args.amp == "none":
        return contextlib.nullcontext()
    return torch.autocast("cuda", dtype=torch.bfloat16 if args.amp == "bf16" else torch.float16)


def synchronize(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class Runner:
    """One variant ready to step: module in training mode, AdamW, an AMP scaler for fp16."""

    def __init__(self, args, encoder, batch_size, variant, device):
        self.module, self.inputs, self.loss = build(args, encoder, batch_size, variant, device)
        self.module.train()
        self.optimizer = optimizer_of(variant, self.module)
        self.scaler = torch.amp.GradScaler("cuda", enabled=device.type == "cuda" and args.amp == "fp16")
        self.args, self.device = args, device
        self.peak_mb = self.step_mb = 0.0

    def step(self) -> float:
        device = self.device
        if device.type == "cuda":
            self.optimizer.zero_grad(set_to_none=True)
            resident = torch.cuda.memory_allocated(device)  # every variant's weights and optimizer state
            torch.cuda.reset_peak_memory_stats(device)
        synchronize(device)
        start = time.perf_counter()
        self.optimizer.zero_grad(set_to_none=True)
        with autocast(self.args, device):
            loss = self.loss(self.module, self.inputs)
        self.scaler.scale(loss).backward()
        self.scaler.unscale_(self.optimizer)
        torch.nn.utils.clip_grad_norm_(self.module.parameters(), 1.0)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        synchronize(device)
        elapsed = time.perf_counter() - start
        if device.type == "cuda":
            peak = torch.cuda.max_memory_allocated(device)
            self.peak_mb = max(self.peak_mb, peak / 2**20)
            self.step_mb = max(self.step_mb, (peak - resident) / 2**20)
        return elapsed


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM is not inherited across fork/exec)."""
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_memory(args, encoder: str, batch_size: int, variant: str) -> float:
    command = [sys.executable, __file__, "--one", variant, "--encoders", encoder, "--batch-sizes", str(batch_size),
               "--data", args.data, "--synonyms", args.synonyms, "--max-length", str(args.max_length),
               "--layer", str(args.layer)] + (["--head", args.head] if args.head else [])
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])["peak_mb"]


def measure(args, encoder: str, batch_size: int, device: torch.device) -> Dict:
    runners = {variant: Runner(args, encoder, batch_size, variant, device) for variant in VARIANTS}
    for runner in runners.values():
        for _ in range(args.warmup):
            runner.step()
    times: Dict[str, List[float]] = {variant: [] for variant in VARIANTS}
    for round_index in range(args.rounds):
        for variant, runner in runners.items():
            times[variant].append(runner.step())
        print(f"{Path(encoder).name} batch {batch_size} round {round_index + 1}/{args.rounds}: "
              + "  ".join(f"{v} {times[v][-1]:.3f}s" for v in VARIANTS), flush=True)
    median = {variant: statistics.median(values) for variant, values in times.items()}
    layers = runners["reference"].module.encoder.config.num_hidden_layers
    result = {
        "encoder": encoder, "layers": layers, "batch_size": batch_size,
        "median_step_s": median, "pairs_per_s": {v: batch_size / t for v, t in median.items()},
        "step_times_s": times,
        "exact_speedup_over_reference": median["reference"] / median["eapr_exact"],
        "masked_speedup_over_reference": median["reference"] / median["eapr_masked"],
        "eapr_over_plain_step_time": median["eapr_exact"] / median["plain_padded"],
        "eapr_masked_over_plain_step_time": median["eapr_masked"] / median["plain_dynamic"],
        "two_streams_over_plain_step_time": median["plain_two_streams"] / median["plain_dynamic"],
        "eapr_masked_over_two_streams_step_time": median["eapr_masked"] / median["plain_two_streams"],
    }
    if device.type == "cuda":
        result["peak_memory_mb"] = {variant: runner.peak_mb for variant, runner in runners.items()}
        result["step_memory_mb"] = {variant: runner.step_mb for variant, runner in runners.items()}
    del runners
    if device.type == "cpu" and args.memory:
        result["peak_memory_mb"] = {variant: cpu_memory(args, encoder, batch_size, variant) for variant in VARIANTS}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--encoders", nargs="+", required=True, help="HF model folders or names")
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=[16, 32])
    parser.add_argument("--data", required=True, help="XTREME-layout pair TSV (e.g. ../shared/data/xnli/dev-en.tsv)")
    parser.add_argument("--synonyms", required=True, help="synonym table (counterfitted_neighbors.json)")
    parser.add_argument("--head", default=None, help="EAPR_HEAD (default: the recipe's, by encoder name)")
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--layer", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--amp", default="none", choices=["none", "bf16", "fp16"], help="CUDA only")
    parser.add_argument("--memory", action="store_true", help="CPU: peak memory per variant (subprocesses)")
    parser.add_argument("--random-init", default=None, metavar="DIR",
                        help="time each encoder's architecture with random weights, built under DIR")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "speed.json"))
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)  # internal: CPU memory of one variant
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if args.amp != "none" and device.type != "cuda":
        raise SystemExit("--amp needs --device cuda")
    if args.one:
        runner = Runner(args, args.encoders[0], args.batch_sizes[0], args.one, device)
        for _ in range(2):
            runner.step()
        print(json.dumps({"peak_mb": peak_rss_mb()}))
        return

    encoders = args.encoders
    if args.random_init:
        encoders = [random_init_copy(encoder, Path(args.random_init)) for encoder in args.encoders]
    results = [measure(args, encoder, batch_size, device) for encoder in encoders for batch_size in args.batch_sizes]
    from environment import machine, versions  # benchmarks/, this script's folder

    report = {
        "date": date.today().isoformat(),
        "machine": machine((device.index or 0) if device.type == "cuda" else None, threads=True),
        "versions": versions(),
        "settings": {k: v for k, v in vars(args).items() if k != "one"},
        "optimizers": {"reference": "loop", "plugin": dict(recipe_optimizer())["type"]},
        "results": results,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2))
    for result in results:
        print(json.dumps({k: v for k, v in result.items() if k not in ("step_times_s", "encoder")}))


if __name__ == "__main__":
    main()
