"""
Zero-shot accuracy of plain fine-tuning, RS-DA, EAPR and its ablations on the reduced protocols of
`../shared/data/README.md`, several seeds, with the real `allennlp train` / `evaluate-languages`.

Protocols (rows are 0-based data rows):
  sib200  train eng_Latn/train.tsv, select on eng_Latn/dev.tsv, score {lang}/test.tsv (24 languages)
  pawsx   train rows 0-999 of dev-en.tsv, score rows 1000-1999 of dev-{lang}.tsv (7 languages)
  xnli    train rows 0-1244 of dev-en.tsv, score rows 1245-2489 of dev-{lang}.tsv (15 languages)
For pawsx and xnli there is no separate English dev set: the checkpoint is selected on the English
scored rows (the other languages are never used for selection).

Budgets: `--budget equal-steps` (the default) gives every method the same number of optimizer
steps: the pair methods train `--epochs` epochs over `--num-perturbations` copies per example, plain
fine-tuning (`baseline`) `--epochs × --num-perturbations` epochs over the originals.
`--budget equal-epochs` gives every method `--epochs` (plain fine-tuning then makes a third of the
updates: label such tables as equal-epoch). Every run records its optimizer steps, the epoch the
English-dev selection picked and the English dev curve (`run_record.jsonl` of the recipe's
`eapr_run_record` callback), and the report keeps them per run.

Writes, per protocol, a JSON with every run's per-language accuracy and records, the mean ± std
over seeds, and the paired difference (by seed, 95% t interval) of every method against plain
fine-tuning and against two-stream CE (`--references`, e.g. add `eapr` to pair every ablation with
full EAPR) on the non-English macro average and per language; for each
seed on its own, the paired bootstrap over test examples (the single-run comparison: per language
and on the macro average, `--bootstrap-samples` draws; the protocols' test sets are translations of
one another, so the macro average resamples rows jointly across languages); and a markdown table (rows: methods;
columns: languages, non-English macro average) with the paired differences below it.

    python benchmarks/accuracy.py --protocol sib200 --data-dir ../shared/data --encoder DIR \
        --synonyms ../shared/data/counterfitted_neighbors.json [--methods baseline eapr] [--seeds 1 2 3]

Variants beyond the recipe's methods: `--variant NAME METHOD EAPR_VAR=VALUE ...` trains METHOD
with those recipe variables set (e.g. `--variant eapr_balanced eapr
EAPR_BALANCE=embedding_push=0.1,attention_pull=0.1`, `--variant consistency_sw consistency
EAPR_PERTURBER=subword_sampling`); NAME is its row in the tables and its run folder's prefix, and the
JSON records its definition. Variants are compared with plain fine-tuning and two-stream CE like the
methods.

`--oracle` (sib200) also scores every epoch on each target language's own dev and test set
(`EAPR_EPOCH_EVAL`): the records then hold target-language ("oracle") selection per language and
the summary its non-English average, reported apart from the English-dev result, never in its place,
beside the English-dev selection's average on the same languages and their paired difference.
`--oracle-languages LANG ...` scores only those target languages each epoch (an evaluation per
epoch of every language's dev and test set costs about as much as the training on a CPU). Runs are
reused by folder name, so oracle runs go to their own `--runs-dir`; reused runs without curves are
named in a warning.

`--reselect last average` also scores each finished run's last epoch and the average of its last
`--reselect-average-last` epochs (`scripts/reselect.py`: from the checkpoints the run kept, no
retraining; into `languages_last/`, `languages_average2/`), and reports each selection beside the
English-dev one: per method its paired difference from English-dev selection, and the methods'
paired differences under that selection.

Finished runs (`RUNS_DIR/PROTOCOL/NAME_aALPHA_bBETA_eEPOCHS[_pCOPIES]_seedN/languages/metrics.json`;
`_pCOPIES` where a pair method trains on other than 3 copies) are reused, so an interrupted
benchmark resumes: a run is finished when `allennlp train` returned (`trained`; an archive alone is
not enough, AllenNLP archives interrupted runs too), and an interrupted one continues with
`allennlp train --recover` from its last checkpoint, bit for bit; a reused run must have been trained with the same recipe variables (recorded
in its `benchmark_settings.json`), or the benchmark stops naming the ones that differ; `--report-only` writes the report from the finished runs alone,
for runs made by several processes side by side (each with its own `--out`). `--jobs N` trains N
runs side by side itself, each in its own process (`OMP_NUM_THREADS` = CPUs ÷ N unless set). A run
folder is trained and scored by one process at a time (a lock, `RUN_DIR.lock` beside it): a second
process that reaches it stops, naming it. `--methods` with no name runs only the `--variant` runs.
"""
import argparse
import fcntl
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager, nullcontext
from datetime import date
from pathlib import Path
from typing import Dict, List

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from eapr_plugin.common.config_env import EXT_VARS  # noqa: E402
from eapr_plugin.common.reporting import markdown_table, mean_std, percent  # noqa: E402
from eapr_plugin.models.archival import RUN_STATUS  # noqa: E402

METHODS = ("baseline", "two_stream_ce", "rsda", "eapr", "eapr_no_push", "eapr_no_pull", "eapr_no_rt",
           "consistency", "eapr_consistency")
#: methods trained on perturbed pairs (`num_perturbations` copies per example)
PAIR_METHODS = tuple(m for m in METHODS if m != "baseline")
#: the comparisons every report makes by default (`--references`): each method against these, paired by seed
REFERENCES = ("baseline", "two_stream_ce")
#: Each protocol in one line (report headings); `protocol_settings` gives the paths and row ranges.
PROTOCOLS = {
    "sib200": "train `eng_Latn/train.tsv`, select on `eng_Latn/dev.tsv`, score `{lang}/test.tsv`",
    "pawsx": "train rows 0-999 of `dev-en.tsv`, score rows 1000-1999 of `dev-{lang}.tsv`",
    "xnli": "train rows 0-1244 of `dev-en.tsv`, score rows 1245-2489 of `dev-{lang}.tsv`",
}


def protocol_settings(protocol: str, data_dir: str) -> Dict[str, str]:
    """A protocol's recipe variables (`EAPR_*`) and the harness's own keys (`_*`): `_inputs`, the
    test files scored per language; `_oracle`, target-language dev and test files for `--oracle`;
    `_parallel`, "true" where the test files are translations row by row (row i the same item in
    every language), so a run's bootstrap resamples rows jointly across languages."""
    data = Path(data_dir)
    if protocol == "sib200":
        return {"EAPR_TASK": "sib200", "EAPR_TRAIN_DATA": str(data / "sib200/eng_Latn/train.tsv"),
                "EAPR_DEV_DATA": str(data / "sib200/eng_Latn/dev.tsv"),
                "_inputs": str(data / "sib200/*/test.tsv"), "_parallel": "true",
                "_oracle": f"dev={data / 'sib200/*/dev.tsv'};test={data / 'sib200/*/test.tsv'}"}
    if protocol == "pawsx":
        return {"EAPR_TASK": "pawsx", "EAPR_TRAIN_DATA": str(data / "pawsx/dev-en.tsv"), "EAPR_TRAIN_END": "1000",
                "EAPR_DEV_DATA": str(data / "pawsx/dev-en.tsv"), "EAPR_DEV_START": "1000", "EAPR_DEV_END": "2000",
                "_inputs": str(data / "pawsx/dev-*.tsv"), "_parallel": "true"}
    if protocol == "xnli":
        return {"EAPR_TASK": "xnli", "EAPR_TRAIN_DATA": str(data / "xnli/dev-en.tsv"), "EAPR_TRAIN_END": "1245",
                "EAPR_DEV_DATA": str(data / "xnli/dev-en.tsv"), "EAPR_DEV_START": "1245", "EAPR_DEV_END": "2490",
                "_inputs": str(data / "xnli/dev-*.tsv"), "_parallel": "true"}
    raise SystemExit(f"unknown protocol {protocol!r}")


def oracle_inputs(data_dir: str, languages: List[str]) -> str:
    """`EAPR_EPOCH_EVAL` for `--oracle-languages` (sib200's layout, `LANG/dev.tsv` and `LANG/test.tsv`):
    target languages only, each with both files."""
    from eapr_plugin.common.languages import is_english

    english = [language for language in languages if is_english(language)]
    if english:
        raise SystemExit(f"--oracle-languages {' '.join(english)}: the training language has no oracle selection; "
                         "name target languages")
    files = {kind: [Path(data_dir) / "sib200" / language / f"{kind}.tsv" for language in languages]
             for kind in ("dev", "test")}
    missing = [str(f) for kind in files.values() for f in kind if not f.exists()]
    if missing:
        raise SystemExit(f"--oracle-languages: no such file: {', '.join(missing)}")
    return ";".join(f"{kind}={','.join(map(str, paths))}" for kind, paths in files.items())


PAPER_WEIGHTS = (0.1, 1.0)  # method.md's α (Embedding-Push) and β (Attention-Pull)


def epochs_of(args, method: str) -> int:
    """Equal optimizer steps: plain fine-tuning sees one copy per example where the pair methods see
    `num_perturbations`, so it gets that many times the epochs; `--budget equal-epochs` does not."""
    if args.budget == "equal-steps" and method not in PAIR_METHODS:
        return args.epochs * args.num_perturbations
    return args.epochs


#: variables the harness sets itself (`harness_env`, with the protocols'); a variant may not override them:
#: they fix the budget (epochs, copies, batch), name the run folder (weights) or are the protocol's
HARNESS_VARIABLES = ("EAPR_METHOD", "EAPR_SEED", "EAPR_ENCODER", "EAPR_EPOCHS", "EAPR_TASK", "EAPR_TRAIN_DATA",
                     "EAPR_DEV_DATA", "EAPR_TRAIN_START", "EAPR_TRAIN_END", "EAPR_DEV_START", "EAPR_DEV_END",
                     "EAPR_SYNONYMS", "EAPR_NUM_GPUS", "EAPR_MAX_LENGTH", "EAPR_BATCH_SIZE", "EAPR_GRAD_ACCUM",
                     "EAPR_LR", "EAPR_AP_MODE", "EAPR_NUM_PERTURBATIONS", "EAPR_HEAD", "EAPR_ALPHA", "EAPR_BETA",
                     "EAPR_EPOCH_EVAL")
#: the recipe's default copies per example (training_configs/eapr.libsonnet); other counts name the run folder
DEFAULT_PERTURBATIONS = 3
#: what a run folder records of the recipe variables it was trained with (checked when it is reused)
RUN_SETTINGS = "benchmark_settings.json"


def parse_variants(args) -> Dict[str, Dict]:
    """`{name: {"method": METHOD, "env": {EAPR_VAR: VALUE}}}`: each `--methods` entry as itself, then
    each `--variant NAME METHOD EAPR_VAR=VALUE ...`."""
    variants = {method: {"method": method, "env": {}} for method in args.methods}
    if not variants and not args.variant:
        raise SystemExit("--methods names none and no --variant is given: nothing to run")
    for variant in args.variant or []:
        if len(variant) < 2:
            raise SystemExit(f"--variant {' '.join(variant)}: needs NAME METHOD [EAPR_VAR=VALUE ...]")
        name, method, *assignments = variant
        if name in variants:
            raise SystemExit(f"--variant {name}: the name is taken (a method or an earlier variant)")
        if method not in METHODS:
            raise SystemExit(f"--variant {name}: unknown method {method!r} (one of {', '.join(METHODS)})")
        env = {}
        for assignment in assignments:
            key, equals, value = assignment.partition("=")
            if not equals or not key.startswith("EAPR_"):
                raise SystemExit(f"--variant {name}: {assignment!r} is not EAPR_VARIABLE=VALUE")
            if key not in EXT_VARS:  # the recipe would ignore it: the variant would train as its method
                raise SystemExit(f"--variant {name}: {key} is not a recipe variable (training_configs/eapr.libsonnet)")
            if key in HARNESS_VARIABLES:
                raise SystemExit(f"--variant {name}: {key} is set by the harness itself")
            env[key] = value
        variants[name] = {"method": method, "env": env}
    return variants


def check_references(references, variants) -> List[str]:
    """The references to pair with: `REFERENCES` where run by default; every `--references` name
    given must be a method or variant of this benchmark."""
    if references is None:
        return [name for name in REFERENCES if name in variants]
    unknown = [name for name in references if name not in variants]
    if unknown:
        raise SystemExit(f"--references {' '.join(unknown)}: not among the --methods / --variant names "
                         f"({', '.join(variants)})")
    return list(references)


def run_dir_of(args, name: str, seed: int) -> Path:
    """`RUNS_DIR/PROTOCOL/NAME_aALPHA_bBETA_eEPOCHS[_pCOPIES]_seedN`: `_pCOPIES` for pair methods trained
    on other than the recipe's 3 copies per example (plain fine-tuning trains on none)."""
    method = args.variants[name]["method"]
    copies = (f"_p{args.num_perturbations}"
              if method in PAIR_METHODS and args.num_perturbations != DEFAULT_PERTURBATIONS else "")
    return (Path(args.runs_dir) / args.protocol
            / f"{name}_a{args.alpha}_b{args.beta}_e{epochs_of(args, method)}{copies}_seed{seed}")


#: recipe variables that change no weight: `EAPR_EPOCH_EVAL` only scores each epoch (restoring the
#: random state it draws from), so `--oracle` may report on runs trained without it
SCORING_ONLY = ("EAPR_EPOCH_EVAL",)


def recipe_settings(env: Dict[str, str]) -> Dict[str, str]:
    """The recipe variables (`EAPR_*` of `training_configs/eapr.libsonnet`) a training environment
    trains with."""
    return {key: value for key, value in sorted(env.items())
            if key in EXT_VARS and key not in SCORING_ONLY and value != ""}  # empty: the recipe's default


def trained(run_dir: Path) -> bool:
    """Whether `allennlp train` finished this run: it wrote `metrics.json` (AllenNLP does so only when
    training returns) and, where the recipe's `eapr_run_record` callback wrote one, `run_status.json`
    says finished. An archive alone is no proof: AllenNLP archives an interrupted run's best epoch too."""
    status = run_dir / RUN_STATUS
    if status.exists() and not json.loads(status.read_text())["finished"]:
        return False
    return (run_dir / "model.tar.gz").exists() and (run_dir / "metrics.json").exists()


def check_reused(run_dir: Path, settings: Dict[str, str]) -> None:
    """A finished run is reused only if it was trained with these recipe variables: one that differs
    (another lr, perturber, copies ...) stops the benchmark naming the folder and the variables.
    Folders from before the record are reused with a warning (nothing to check them against)."""
    recorded = run_dir / RUN_SETTINGS
    if not recorded.exists():
        print(f"warning: {run_dir} has no {RUN_SETTINGS} (trained before the benchmark recorded its settings): "
              "reused unchecked", flush=True)
        return
    trained = json.loads(recorded.read_text())
    differ = sorted(key for key in set(trained) | set(settings) if trained.get(key) != settings.get(key))
    if differ:
        details = "; ".join(f"{key}: trained {trained.get(key)!r}, asked {settings.get(key)!r}" for key in differ)
        raise SystemExit(f"{run_dir}: a finished run trained with other settings ({details}); "
                         "move it away or use another --runs-dir")


def ambient_recipe_variables(environ: Dict[str, str]) -> List[str]:
    """Recipe variables set in the calling shell: they would reach every run unrecorded in its name.
    (Importing the plugin sets every unset one to "", the recipe's default.)"""
    return sorted(key for key, value in environ.items() if key in EXT_VARS and value != "")


def run_record(run_dir: Path) -> Dict:
    """Budget and selection of a finished run: optimizer steps, epochs, the selected epoch, the dev curve."""
    lines = (run_dir / "run_record.jsonl").read_text().splitlines()
    epochs = [json.loads(line) for line in lines]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    record = {"optimizer_steps": epochs[-1]["optimizer_steps"], "epochs": len(epochs),
              "selection": metrics.get("selection", "english_dev"),
              "selected_epoch": metrics.get("best_epoch"), "selected_epochs": metrics.get("selected_epochs"),
              "dev_curve": [round(e.get("validation_accuracy", float("nan")), 4) for e in epochs],
              "perturbed_changed": metrics.get("training_perturbed_changed")}
    curves = run_dir / "language_curves.jsonl"
    if curves.exists():
        record["oracle"] = oracle_selection([json.loads(line) for line in curves.read_text().splitlines()])
    return record


def oracle_selection(curves) -> Dict[str, Dict]:
    """Target-language ("oracle") selection from `language_curves.jsonl`: per language, the first epoch
    with the best accuracy on that language's own dev set, and its test accuracy. It uses target
    labels a zero-shot user does not have: reported apart, never as the result."""
    epochs, accuracy = {}, {}
    for language in curves[0]["test"]:
        best = max(range(len(curves)), key=lambda i: (curves[i]["dev"][language], -i))
        epochs[language], accuracy[language] = curves[best]["epoch"], curves[best]["test"][language]
    return {"epochs": epochs, "accuracy": accuracy}


def correct_by_language(run_dir: Path) -> Dict[str, str]:
    """`{language: "0110..."}`: which test examples a finished run gets right, in the files' order."""
    report = json.loads((run_dir / "languages" / "metrics.json").read_text())
    return {language: result["correct"] for language, result in report["languages"].items()}


def harness_env(args, settings, method: str, seed: int) -> Dict[str, str]:
    """The recipe variables the harness sets for one run (each one in `HARNESS_VARIABLES`, so that no
    variant overrides it): the protocol's, the budget's, the seed and the method."""
    return {**{k: v for k, v in settings.items() if not k.startswith("_")},
            "EAPR_METHOD": method, "EAPR_SEED": str(seed), "EAPR_ENCODER": args.encoder,
            "EAPR_SYNONYMS": args.synonyms, "EAPR_NUM_GPUS": str(args.num_gpus),
            "EAPR_MAX_LENGTH": str(args.max_length), "EAPR_BATCH_SIZE": str(args.batch_size),
            "EAPR_GRAD_ACCUM": str(args.grad_accum), "EAPR_LR": str(args.lr),
            "EAPR_EPOCHS": str(epochs_of(args, method)),
            "EAPR_AP_MODE": args.ap_mode, "EAPR_NUM_PERTURBATIONS": str(args.num_perturbations),
            "EAPR_HEAD": args.head or "", "EAPR_ALPHA": str(args.alpha), "EAPR_BETA": str(args.beta),
            **({"EAPR_EPOCH_EVAL": settings["_oracle"]} if args.oracle else {})}


def run_one(args, settings, name: str, seed: int, run_dir: Path) -> Dict[str, float]:
    method = args.variants[name]["method"]
    env = {**evaluation_env(args), **harness_env(args, settings, method, seed), **args.variants[name]["env"]}
    settings_now = recipe_settings(env)
    if trained(run_dir):
        check_reused(run_dir, settings_now)
    else:
        # an interrupted run (its optimizer states kept) continues bit for bit; anything else starts afresh
        resume = any(run_dir.glob("training_state_e*.th"))
        if resume:
            print(f"{run_dir.name}: resuming an interrupted run (`allennlp train --recover`)", flush=True)
            for stale in run_dir.glob("languages*"):  # scores of the interrupted run's archive, if any
                shutil.rmtree(stale)
        subprocess.run([sys.executable, "-m", "allennlp", "train", "training_configs/experiment.jsonnet",
                        "-s", str(run_dir), "--recover" if resume else "--force"], cwd=REPO, env=env, check=True,
                       stdout=open(f"{run_dir}.train.log", "a" if resume else "w"), stderr=subprocess.STDOUT)
        # A finished run needs its optimizer states no more (they serve `--recover`): twice the
        # weights' size per kept epoch. The weights (`model_state_e*`) stay for scripts/reselect.py.
        states = sorted(run_dir.glob("training_state_e*.th"))
        for state in states:
            state.unlink()
        print(f"{run_dir.name}: removed the finished run's optimizer states ({', '.join(s.name for s in states)})",
              flush=True)
        (run_dir / RUN_SETTINGS).write_text(json.dumps(settings_now, indent=1))
    return evaluate(args, settings, run_dir / "model.tar.gz", run_dir / "languages", env)


def evaluation_env(args) -> Dict[str, str]:
    """What loading an archive of this benchmark needs: no Hub, and `EAPR_ENCODER` (archives made
    with a relative encoder path name it through the recipe variable)."""
    threads = {"OMP_NUM_THREADS": str(args.threads)} if getattr(args, "threads", None) else {}
    return {**os.environ, "HF_HUB_OFFLINE": "1", "EAPR_ENCODER": args.encoder, **threads}


def evaluate(args, settings, archive: Path, output_dir: Path, env: Dict[str, str]) -> Dict[str, float]:
    """`{language: accuracy}` of `archive` on the protocol's scored files (`evaluate-languages`,
    once: a finished `output_dir` is read back)."""
    results = output_dir / "metrics.json"
    if not results.exists():
        subprocess.run([sys.executable, "-m", "allennlp", "evaluate-languages", str(archive),
                        settings["_inputs"], "--output-dir", str(output_dir),
                        "--cuda-device", "0" if args.num_gpus else "-1"],
                       cwd=REPO, env=env, check=True, stdout=open(f"{output_dir}.eval.log", "w"),
                       stderr=subprocess.STDOUT)
    report = json.loads(results.read_text())
    return {language: result["accuracy"] for language, result in report["languages"].items()}


def reselection_names(args) -> Dict[str, str]:
    """`{report name: selection}` of `--reselect`: `last`, `average{K}` (`scripts/reselect.py`'s names)."""
    from scripts.reselect import archive_name

    return {archive_name(kind, args.reselect_average_last): kind for kind in args.reselect}


def run_reselected(args, settings, name: str, kind: str, run_dir: Path) -> Dict[str, float]:
    """The finished run's accuracies under another selection (`scripts/reselect.py`'s archive)."""
    from scripts.reselect import reselect

    archive = run_dir / f"model_{name}.tar.gz"
    if not archive.exists():
        reselect(run_dir, kind, args.reselect_average_last)
    return evaluate(args, settings, archive, run_dir / f"languages_{name}", evaluation_env(args))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--protocol", required=True, choices=list(PROTOCOLS))
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--encoder", required=True)
    parser.add_argument("--synonyms", required=True)
    parser.add_argument("--methods", nargs="*", default=list(METHODS), choices=METHODS,
                        help="methods run as they are (default: all); none (`--methods` alone) runs only "
                             "the --variant runs, e.g. a variant's further seeds beside another process "
                             "that trains its method's")
    parser.add_argument("--variant", nargs="+", action="append", metavar="NAME METHOD EAPR_VAR=VALUE",
                        help="a named method with recipe variables set (repeatable; see the module docstring)")
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    parser.add_argument("--epochs", type=int, default=3, help="epochs of the pair methods")
    parser.add_argument("--budget", default="equal-steps", choices=["equal-steps", "equal-epochs"],
                        help="equal-steps: plain fine-tuning gets epochs × num_perturbations (the default)")
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--grad-accum", type=int, default=1)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--ap-mode", default="exact", choices=["exact", "masked"])
    parser.add_argument("--num-perturbations", type=int, default=DEFAULT_PERTURBATIONS)
    parser.add_argument("--num-gpus", type=int, default=0)
    parser.add_argument("--head", default=None, help="classification head (default: by encoder type)")
    parser.add_argument("--alpha", type=float, default=PAPER_WEIGHTS[0], help="Embedding-Push weight (EAPR methods)")
    parser.add_argument("--beta", type=float, default=PAPER_WEIGHTS[1], help="Attention-Pull weight (EAPR methods)")
    parser.add_argument("--oracle", action="store_true",
                        help="also score every epoch on each target language's dev and test set (sib200 only), "
                             "for target-language selection, reported apart (costs one evaluation per epoch)")
    parser.add_argument("--oracle-languages", nargs="+", default=None, metavar="LANG",
                        help="with --oracle: score only these target languages each epoch (default: all; the "
                             "report then compares with English-dev selection on the same languages)")
    parser.add_argument("--references", nargs="+", default=None, metavar="NAME",
                        help="methods or variants every other one is compared with, paired by seed (default: "
                             f"{' and '.join(REFERENCES)} where run; e.g. add `eapr` to see what each ablation removes)")
    parser.add_argument("--reselect", nargs="+", default=[], choices=["last", "average"],
                        help="also score each run's last epoch / the average of its last "
                             "--reselect-average-last epochs (from the kept checkpoints, no retraining), "
                             "reported beside the English-dev selection")
    parser.add_argument("--reselect-average-last", type=int, default=2)
    parser.add_argument("--bootstrap-samples", type=int, default=5000,
                        help="draws of the per-seed paired bootstrap over test examples")
    parser.add_argument("--runs-dir", default=str(REPO / "runs" / "benchmarks"))
    parser.add_argument("--out", default=None, help="JSON output (default benchmarks/results/accuracy_{protocol}.json)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="runs trained side by side, each in its own process with OMP_NUM_THREADS = CPUs / "
                             "jobs unless set (on a 2-core CPU, --jobs 2 got 1.4x the throughput of one "
                             "2-thread run); the report is the same whatever finishes first")
    parser.add_argument("--report-only", action="store_true",
                        help="train and evaluate nothing: write the report from the runs already finished "
                             "(e.g. after running seeds in parallel processes)")
    args = parser.parse_args()
    ambient = ambient_recipe_variables(os.environ)
    if ambient:
        raise SystemExit(f"{', '.join(ambient)} set in the environment: the benchmark sets recipe variables itself "
                         "(unset them; a setting of your own goes in --variant NAME METHOD EAPR_VAR=VALUE)")
    if args.jobs < 1:
        raise SystemExit(f"--jobs {args.jobs}: at least 1")
    args.variants = parse_variants(args)
    args.references = check_references(args.references, args.variants)
    settings = protocol_settings(args.protocol, args.data_dir)
    if args.oracle and "_oracle" not in settings:
        raise SystemExit(f"--oracle: the {args.protocol} protocol has no labelled target-language dev set "
                         "(its target rows are the scored ones)")
    if args.oracle_languages:
        if not args.oracle:
            raise SystemExit("--oracle-languages: only with --oracle")
        settings["_oracle"] = oracle_inputs(args.data_dir, args.oracle_languages)
    out = Path(args.out or REPO / "benchmarks" / "results" / f"accuracy_{args.protocol}.json")
    runs: Dict[str, Dict[int, Dict[str, float]]] = {}
    reselected: Dict[str, Dict[str, Dict[int, Dict[str, float]]]] = {}
    started = time.time()
    if args.jobs > 1 and "OMP_NUM_THREADS" not in os.environ:
        args.threads = max(1, (os.cpu_count() or 1) // args.jobs)
        print(f"--jobs {args.jobs}: each run with OMP_NUM_THREADS={args.threads}", flush=True)
    # Seed-major order, and the report rewritten after every run (its rows in that order whatever
    # finishes first): an interrupted benchmark still leaves every method compared on the seeds it finished.
    order = [(seed, method) for seed in args.seeds for method in args.variants]
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = {pool.submit(run_and_score, args, settings, method, seed): (seed, method) for seed, method in order}
        for future in as_completed(futures):
            seed, method = futures[future]
            try:
                result = future.result()
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)  # the runs under way finish; no new one starts
                raise
            if result is None:
                continue
            runs.setdefault(method, {})[seed], by_selection = result
            for name, accuracies in by_selection.items():
                reselected.setdefault(name, {}).setdefault(method, {})[seed] = accuracies
            write_report(args, out, in_order(runs, order), {name: in_order(by_method, order)
                                                           for name, by_method in reselected.items()}, started)
    if not runs:
        raise SystemExit(f"no finished runs under {Path(args.runs_dir) / args.protocol}")
    print(out.with_suffix(".md").read_text())


@contextmanager
def sole_user(run_dir: Path):
    """Holds an exclusive lock on `RUN_DIR.lock` (beside the folder, which `--force` deletes) while
    this process trains and scores the run: another benchmark process, or another `--jobs` worker,
    that reaches the same run folder stops with a message naming it, instead of both training into it."""
    with open(run_dir.parent / f"{run_dir.name}.lock", "a+", encoding="utf-8") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            raise SystemExit(f"{run_dir} is being trained or scored by another process ({lock.read().strip()}): "
                             "two processes in one run folder would overwrite each other's checkpoints; give this "
                             "one other seeds or methods (`--methods` alone runs only the --variant runs), or "
                             "wait and use --report-only") from None
        lock.truncate(0)
        lock.write(f"pid {os.getpid()} on {socket.gethostname()}, since {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        lock.flush()
        yield  # the lock goes with the file's closing


def run_and_score(args, settings, method: str, seed: int):
    """One run trained (or reused) and scored: `(accuracies, {selection: accuracies})`, or None where
    `--report-only` finds it unfinished."""
    run_dir = run_dir_of(args, method, seed)
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    if args.report_only and not (trained(run_dir) and (run_dir / "languages" / "metrics.json").exists()):
        print(f"{method} seed {seed}: not finished, left out", flush=True)
        return None
    with (nullcontext() if args.report_only else sole_user(run_dir)):
        accuracies = run_one(args, settings, method, seed, run_dir)
        by_selection = {}
        for name, kind in reselection_names(args).items():
            if args.report_only and not (run_dir / f"languages_{name}" / "metrics.json").exists():
                print(f"{method} seed {seed}: {name} selection not scored, left out", flush=True)
                continue
            by_selection[name] = run_reselected(args, settings, name, kind, run_dir)
    print(f"{method} seed {seed}: {time.time() - t0:.0f} s", flush=True)
    return accuracies, by_selection


def in_order(by_method: Dict[str, Dict[int, Dict]], order) -> Dict[str, Dict[int, Dict]]:
    """`{method: {seed: ...}}` with methods and seeds in the benchmark's order, not the order runs finished."""
    methods = list(dict.fromkeys(method for _, method in order))
    seeds = list(dict.fromkeys(seed for seed, _ in order))
    return {method: {seed: by_method[method][seed] for seed in seeds if seed in by_method[method]}
            for method in methods if method in by_method}


def write_report(args, out: Path, runs, reselected, started: float) -> None:
    from environment import machine, versions  # benchmarks/, this script's folder
    from eapr_plugin.common.paired import non_english_average_by_seed, paired_seeds

    summary, records = {}, {}
    parallel = protocol_settings(args.protocol, args.data_dir).get("_parallel") == "true"
    for method, by_seed in runs.items():
        languages = list(next(iter(by_seed.values())))
        per_language = {l: mean_std([acc[l] for acc in by_seed.values()]) for l in languages}
        non_english = {str(seed): value for seed, value in non_english_average_by_seed(by_seed).items()}
        records[method] = {str(seed): run_record(run_dir_of(args, method, seed)) for seed in sorted(by_seed)}
        unscored = [seed for seed, record in records[method].items() if "oracle" not in record]
        if args.oracle and unscored:
            print(f"warning: --oracle: {method} seeds {', '.join(unscored)} were reused from runs trained without "
                  f"it (no language_curves.jsonl under {Path(args.runs_dir) / args.protocol}); {method} gets no "
                  "oracle figures: train them into another --runs-dir", flush=True)
        summary[method] = {"per_language": per_language, "average_non_english": mean_std(list(non_english.values())),
                           "non_english_by_seed": non_english, "seeds": sorted(by_seed),
                           "optimizer_steps": sorted({r["optimizer_steps"] for r in records[method].values()}),
                           **oracle_summary(records[method], by_seed),
                           "epochs": epochs_of(args, args.variants[method]["method"]),
                           **({"variant": args.variants[method]} if args.variants[method]["env"] else {})}
    paired = {}
    for reference in args.references:
        if reference not in runs:
            continue
        for method in runs:
            if method == reference:
                continue
            mine, theirs = runs[method], runs[reference]
            common = [seed for seed in mine if seed in theirs]
            paired[f"{method} - {reference}"] = {
                "average_non_english": paired_seeds(summary[method]["non_english_by_seed"],
                                                    summary[reference]["non_english_by_seed"]),
                "per_language": {l: paired_seeds({str(s): mine[s][l] for s in common}, {str(s): theirs[s][l] for s in common})
                                 for l in summary[method]["per_language"]},
                "by_seed_bootstrap": {
                    str(s): seed_bootstrap(correct_by_language(run_dir_of(args, method, s)),
                                           correct_by_language(run_dir_of(args, reference, s)), args.bootstrap_samples, s,
                                           parallel)
                    for s in common},
            }
    selections = {name: selection_report(by_method, summary, args.references) for name, by_method in reselected.items()}
    steps = {method: entry["optimizer_steps"] for method, entry in summary.items()}
    if args.budget == "equal-steps" and len({step for values in steps.values() for step in values}) > 1:
        print(f"warning: NOT EQUAL STEPS: an equal-steps budget whose runs made different numbers of optimizer "
              f"steps ({'; '.join(f'{m} {v}' for m, v in steps.items())}; rounding of batches per epoch or "
              "gradient accumulation, or a run that stopped early); the report's caption says so", flush=True)
    report = {
        "date": date.today().isoformat(), "protocol": args.protocol,
        "machine": machine(0 if args.num_gpus else None), "versions": versions(),
        "settings": vars(args), "wall_s": time.time() - started, "runs": runs, "records": records,
        "summary": summary, "paired": paired, "selections": selections,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    out.with_suffix(".md").write_text(markdown(summary) + "\n" + paired_markdown(paired)
                                      + "".join("\n" + selection_markdown(name, entry) for name, entry in selections.items()))


def seed_bootstrap(mine: Dict[str, str], theirs: Dict[str, str], samples: int, seed: int, parallel: bool) -> Dict:
    """One seed's paired bootstrap over test examples. Where the protocol's test files are parallel
    (`_parallel`), the rows are resampled jointly across languages; files that differ in size cannot
    be parallel (a user's own data under the protocol's layout), and are resampled each on its own,
    with a warning."""
    from eapr_plugin.common.paired import paired_bootstrap_languages

    if parallel and len({len(rows) for rows in mine.values()}) != 1:
        print(f"warning: seed {seed}: the protocol's test files should be parallel translations, but they "
              f"differ in size ({', '.join(f'{l} {len(r)}' for l, r in sorted(mine.items()))}); the "
              "bootstrap resamples each language on its own", flush=True)
        parallel = False
    return paired_bootstrap_languages(mine, theirs, samples, seed=seed, parallel=parallel)


def selection_report(by_method: Dict[str, Dict[int, Dict[str, float]]], english_dev: Dict[str, Dict],
                     references: List[str]) -> Dict:
    """Another selection's results: per method the non-English average (mean ± std over seeds),
    its paired difference from the same runs under English-dev selection, and the methods' paired
    differences from the references under this selection."""
    from eapr_plugin.common.paired import non_english_average_by_seed, paired_seeds

    by_seed = {method: {str(seed): value for seed, value in non_english_average_by_seed(runs).items()}
               for method, runs in by_method.items()}
    return {
        "summary": {method: {"average_non_english": mean_std(list(values.values())), "non_english_by_seed": values,
                             "seeds": sorted(by_method[method])} for method, values in by_seed.items()},
        "minus_english_dev": {method: paired_seeds(values, english_dev[method]["non_english_by_seed"])
                              for method, values in by_seed.items()},
        "paired": {f"{method} - {reference}": paired_seeds(by_seed[method], by_seed[reference])
                   for reference in references if reference in by_seed for method in by_seed if method != reference},
    }


def selection_markdown(name: str, entry: Dict) -> str:
    from eapr_plugin.common.paired import describe

    lines = [f"Selection `{name}` (the same runs; non-English average, mean ± std over seeds; paired by seed, "
             "95% t interval):", "", "| method | avg non-en | minus English-dev selection |", "|---|---|---|"]
    lines += [f"| {method} | {percent(s['average_non_english'])} | {describe(entry['minus_english_dev'][method])} |"
              for method, s in entry["summary"].items()]
    lines += ["", "| comparison | paired by seed |", "|---|---|"]
    lines += [f"| {comparison} | {describe(result)} |" for comparison, result in entry["paired"].items()]
    return "\n".join(lines) + "\n"


def oracle_summary(records: Dict[str, Dict], english_dev: Dict[int, Dict[str, float]]) -> Dict:
    """Where every seed has target-dev curves: the non-English average under target-language
    ("oracle") selection (mean ± std over seeds), the English-dev selection's average on the same
    languages (the curves may cover a subset, `--oracle-languages`), and their per-seed difference."""
    from eapr_plugin.common.languages import is_english
    from eapr_plugin.common.paired import non_english_average_by_seed, paired_seeds

    if not records or not all("oracle" in record for record in records.values()):
        return {}
    by_seed = {seed: record["oracle"]["accuracy"] for seed, record in records.items()}
    languages = sorted({l for accuracy in by_seed.values() for l in accuracy if not is_english(l)})
    oracle = non_english_average_by_seed(by_seed)
    selected = non_english_average_by_seed({str(seed): {l: accuracy[l] for l in languages}
                                            for seed, accuracy in english_dev.items()})
    return {"oracle_average_non_english": mean_std(list(oracle.values())),
            "oracle": {"languages": languages, "english_dev_same_languages": mean_std(list(selected.values())),
                       "minus_english_dev": paired_seeds(oracle, selected)}}


def paired_markdown(paired) -> str:
    from eapr_plugin.common.paired import bootstrap_tally, describe

    lines = ["| comparison | non-English average, paired by seed (points, 95% t interval) "
             "| single seeds, paired bootstrap over test examples |", "|---|---|---|"]
    lines += [f"| {name} | {describe(entry['average_non_english'])} | {bootstrap_tally(entry['by_seed_bootstrap'])} |"
              for name, entry in paired.items()]
    return "\n".join(lines) + "\n"



def markdown(summary) -> str:
    rows = {name: method["per_language"] for name, method in summary.items()}
    averages = {"avg non-en": {name: method["average_non_english"] for name, method in summary.items()}}
    return markdown_table(rows, averages, first_column="method")


if __name__ == "__main__":
    main()
