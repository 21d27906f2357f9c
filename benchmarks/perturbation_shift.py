"""
How far the training perturbation moves a trained model's English predictions: each archive scores
the English rows its run selected on (its `validation_dataset_reader` and `validation_data_path`),
then the same rows perturbed the way training perturbs them, once as the paper does (each text on
its own) and, for pair tasks, with `shared_pair_swaps` (the second text reuses the first text's
synonym for every word they share). The copies are copy 0 of each example as the run's own reader
class draws it, with its training seed; a file without labels, no rows, or a table that changes no
row is an error.

Per archive: accuracy on the originals and on each kind of copy, and the share of rows whose
prediction the copy flips; per model (several archives = seeds) their mean ± std. A large drop on
the paper's copies that shared swaps recover says that the independent perturbation of a pair
breaks what its label rests on, not only the words. Writes JSON.

    python benchmarks/perturbation_shift.py --synonyms ../shared/data/counterfitted_neighbors.json \
        --archive xnli=runs/.../seed1/model.tar.gz,runs/.../seed2/model.tar.gz --out results.json
"""
import argparse
import copy
import json
import sys
from datetime import date
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from allennlp.common import Params  # noqa: E402
from allennlp.data import DatasetReader  # noqa: E402
from allennlp.predictors import Predictor  # noqa: E402

import eapr_plugin  # noqa: E402,F401
from eapr_plugin.models.archival import load_run_archive  # noqa: E402  (checked, portable)
from eapr_plugin.common.reporting import mean_std  # noqa: E402

Row = Tuple[str, Optional[str], str, str, Optional[str]]  # text_a, text_b, label, perturbed_a, perturbed_b


def read_rows(config: Params, synonyms: str, shared: bool) -> List[Row]:
    """The rows the run selected on, each with copy 0 as the run's own reader would draw it (its
    class, its seed), from the synonym table with or without shared pair swaps."""
    params = copy.deepcopy(config["validation_dataset_reader"].as_dict())  # from_params pops what it reads
    training = config["dataset_reader"].as_dict()
    if "seed" in training:
        params["seed"] = training["seed"]
    params.update(num_perturbations=1, perturber={"type": "synonym", "table": synonyms, "shared_pair_swaps": shared})
    reader = DatasetReader.from_params(Params(params))
    path = config["validation_data_path"]
    rows = []
    for instance in reader.read(path):
        if "label" not in instance.fields:
            raise SystemExit(f"{path}: {instance['metadata']['example_id']} has no label; nothing to score against")
        meta = instance["metadata"].metadata
        rows.append((meta["text_a"], meta.get("text_b"), instance["label"].label, meta["perturbed_a"], meta.get("perturbed_b")))
    return rows  # the reader itself refuses a file with no rows, or copies that all equal their originals


def predict(predictor: Predictor, texts: List[Tuple[str, Optional[str]]], batch_size: int = 32) -> List[str]:
    labels = []
    for start in range(0, len(texts), batch_size):
        inputs = [{"sentence1": a, **({"sentence2": b} if b is not None else {})}
                  for a, b in texts[start:start + batch_size]]
        labels += [output["label"] for output in predictor.predict_batch_json(inputs)]
    return labels


def measure(path: str, synonyms: str) -> Dict[str, float]:
    # an interrupted run's archive measures nothing this benchmark claims
    archive, _ = load_run_archive(path, allow_unfinished=False, escape=None)
    predictor = Predictor.from_archive(archive, "eapr_classifier")
    rows = read_rows(archive.config, synonyms, shared=False)
    gold = [label for _, _, label, _, _ in rows]
    original = predict(predictor, [(a, b) for a, b, _, _, _ in rows])
    result = {"rows": len(rows), "accuracy_original": sum(p == g for p, g in zip(original, gold)) / len(rows)}
    kinds = {"paper": rows}
    if rows[0][1] is not None:
        kinds["shared"] = read_rows(archive.config, synonyms, shared=True)
    for kind, copies in kinds.items():
        labels = predict(predictor, [(a, b) for _, _, _, a, b in copies])
        result[f"accuracy_{kind}"] = sum(p == g for p, g in zip(labels, gold)) / len(rows)
        result[f"flipped_{kind}"] = sum(p != q for p, q in zip(labels, original)) / len(rows)
        result[f"changed_{kind}"] = sum((a, b) != (pa, pb) for a, b, _, pa, pb in copies) / len(rows)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--synonyms", required=True, help="the counter-fitted synonym table")
    parser.add_argument("--archive", action="append", required=True,
                        help="NAME=model.tar.gz[,model.tar.gz...] (repeatable; several archives = seeds)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "perturbation_shift.json"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    results = {}
    for spec in args.archive:
        name, _, paths = spec.partition("=")
        if not paths:
            raise SystemExit(f"--archive {spec!r}: expected NAME=model.tar.gz[,model.tar.gz...]")
        runs = {path: measure(path, args.synonyms) for path in paths.split(",")}
        keys = [k for k in next(iter(runs.values())) if k.startswith(("accuracy", "flipped", "changed"))]
        summary = {key: mean_std([run[key] for run in runs.values()]) for key in keys}
        results[name] = {"runs": runs, "summary": summary}
        print(name, "; ".join(f"{k} {100 * v['mean']:.1f} ± {100 * v['std']:.1f}" for k, v in summary.items()), flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"date": date.today().isoformat(), "settings": vars(args), "results": results}, indent=2))


if __name__ == "__main__":
    main()
