"""
How far the training perturbation moves a trained model's English predictions: each archive scores
the English rows its run selected on (its `validation_dataset_reader` and `validation_data_path`),
then the same rows perturbed the way training perturbs them, once as the paper does (each text on
its own) and, for pair tasks, with `shared_pair_swaps` (the second text reuses the first text's
synonym for every word they share). Copies are drawn as the reader draws copy 0 of each example
(`random.Random("SEED|example_id|0")`, SEED = the archive's reader seed).

Per archive: accuracy on the originals and on each kind of copy, and the share of rows whose
prediction the copy flips; per model (several archives = seeds) their mean ± std. A large drop on
the paper's copies that shared swaps recover says that the independent perturbation of a pair
breaks what its label rests on, not only the words. Writes JSON.

    python benchmarks/perturbation_shift.py --synonyms ../shared/data/counterfitted_neighbors.json \
        --archive xnli=runs/.../seed1/model.tar.gz,runs/.../seed2/model.tar.gz --out results.json
"""
import argparse
import json
import random
import sys
from datetime import date
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from allennlp.common import Params  # noqa: E402
from allennlp.data import DatasetReader  # noqa: E402
from allennlp.models.archival import load_archive  # noqa: E402
from allennlp.predictors import Predictor  # noqa: E402

import eapr_plugin  # noqa: E402,F401
from eapr_plugin.common.reporting import mean_std  # noqa: E402
from eapr_plugin.perturbers import SynonymPerturber  # noqa: E402

Row = Tuple[str, Optional[str], str, str]  # text_a, text_b, label, example_id


def read_rows(config: Params) -> Tuple[List[Row], int]:
    """The rows the run selected on, and its reader's seed."""
    reader_params = config["validation_dataset_reader"].as_dict()
    seed = config["dataset_reader"].as_dict().get("seed", 0)
    reader = DatasetReader.from_params(Params(reader_params))
    rows = []
    for instance in reader.read(config["validation_data_path"]):
        meta = instance["metadata"].metadata
        rows.append((meta["text_a"], meta.get("text_b"), instance["label"].label, meta["example_id"]))
    if not rows:
        raise SystemExit(f"{config['validation_data_path']}: no rows to score")
    return rows, seed


def predict(predictor: Predictor, texts: List[Tuple[str, Optional[str]]], batch_size: int = 32) -> List[str]:
    labels = []
    for start in range(0, len(texts), batch_size):
        inputs = [{"sentence1": a, **({"sentence2": b} if b is not None else {})}
                  for a, b in texts[start:start + batch_size]]
        labels += [output["label"] for output in predictor.predict_batch_json(inputs)]
    return labels


def measure(path: str, synonyms: str) -> Dict[str, float]:
    archive = load_archive(path)
    predictor = Predictor.from_archive(archive, "eapr_classifier")
    rows, seed = read_rows(archive.config)
    gold = [label for _, _, label, _ in rows]
    original = predict(predictor, [(a, b) for a, b, _, _ in rows])
    result = {"rows": len(rows), "seed": seed,
              "accuracy_original": sum(p == g for p, g in zip(original, gold)) / len(rows)}
    kinds = {"paper": SynonymPerturber(synonyms)}
    if rows[0][1] is not None:
        kinds["shared"] = SynonymPerturber(synonyms, shared_pair_swaps=True)
    for kind, perturber in kinds.items():
        copies = [perturber.perturb_pair(a, b, random.Random(f"{seed}|{example_id}|0")) for a, b, _, example_id in rows]
        labels = predict(predictor, copies)
        result[f"accuracy_{kind}"] = sum(p == g for p, g in zip(labels, gold)) / len(rows)
        result[f"flipped_{kind}"] = sum(p != q for p, q in zip(labels, original)) / len(rows)
        result[f"changed_{kind}"] = sum(c != (a, b) for c, (a, b, _, _) in zip(copies, rows)) / len(rows)
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
