"""
Cross-lingual alignment of the encoder before and after training: retrieval accuracy on parallel
sentences, distance between language centroids, and a 2-D projection coloured by language.

Sentences are represented by the padding-masked mean of the encoder's last layer. For every
non-English language, retrieval accuracy is the share of its sentences whose nearest English
sentence (cosine) is their translation, averaged with the English→language direction. Centroid
distance is the Euclidean distance between the mean representation of a language and of English
(on L2-normalised representations). Models: the encoder before training (`--encoder`) and any
number of trained archives (`--archive NAME=PATH`, e.g. baseline and EAPR). `NAME=PATH1,PATH2,...`
gives one model several archives (seeds): its numbers are then the mean ± std over them, and the
projection plot shows the first.

Parallel data: SIB-200 `{lang}/test.tsv` files (rows aligned by `index_id`) or XTREME-layout
`test-{lang}.tsv` files (15-way parallel rows; first column), given as a glob. Rows whose text
repeats an earlier row's (XNLI's 3 rows per premise) are left out.

    python benchmarks/alignment.py --encoder DIR --parallel '../shared/data/sib200/*/test.tsv' \
        --archive baseline=runs/.../model.tar.gz --archive eapr=runs/.../model.tar.gz [--limit 200]
"""
import argparse
import glob
import json
import os
import sys
from datetime import date
from pathlib import Path
from typing import Dict, List

import numpy
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
from allennlp.nn.util import masked_mean  # noqa: E402
from eapr_plugin.common.languages import is_english  # noqa: E402
from eapr_plugin.common.reporting import mean_std  # noqa: E402
from eapr_plugin.dataset_readers.sib200 import SIB200_HEADER  # noqa: E402


def read_parallel(pattern: str, limit: int) -> Dict[str, List[str]]:
    """`{lang: [sentence, ...]}` with row i the same sentence in every language."""
    texts: Dict[str, Dict[str, str]] = {}
    for path in sorted(glob.glob(pattern)):
        lines = open(path, encoding="utf-8").read().splitlines()
        if lines and lines[0] == SIB200_HEADER:
            language = os.path.basename(os.path.dirname(path))
            texts[language] = {line.split("\t")[0]: line.split("\t")[2] for line in lines[1:]}
        else:
            language = os.path.basename(path).split(".")[0].rsplit("-", 1)[-1]
            texts[language] = {str(i): line.split("\t")[0] for i, line in enumerate(lines)}
    if not texts:
        raise SystemExit(f"no files match {pattern!r}")
    keys = sorted(set.intersection(*(set(t) for t in texts.values())), key=lambda k: (len(k), k))
    # XNLI repeats each premise on 3 consecutive rows: keep a row only where no language repeats an
    # earlier kept row's text, or retrieval "by row" would be capped at 1/3 by identical candidates.
    seen: Dict[str, set] = {language: set() for language in texts}
    unique = []
    for key in keys:
        if all(texts[language][key] not in seen[language] for language in texts):
            unique.append(key)
            for language in texts:
                seen[language].add(texts[language][key])
    keys = unique[:limit]
    return {language: [by_key[k] for k in keys] for language, by_key in texts.items()}


def embed(transformer, tokenizer, sentences: List[str], max_length: int, batch_size: int = 32) -> numpy.ndarray:
    transformer.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(sentences), batch_size):
            batch = tokenizer(sentences[start : start + batch_size], padding=True, truncation=True,
                              max_length=max_length, return_tensors="pt")
            hidden = transformer(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
            out.append(masked_mean(hidden, batch["attention_mask"].bool().unsqueeze(-1), dim=1).numpy())
    vectors = numpy.concatenate(out)
    return vectors / numpy.linalg.norm(vectors, axis=1, keepdims=True)


def measure(vectors: Dict[str, numpy.ndarray]) -> Dict[str, Dict[str, float]]:
    english = next(l for l in vectors if is_english(l))
    en = vectors[english]
    results = {}
    for language, v in vectors.items():
        if language == english:
            continue
        similarity = v @ en.T
        forward = float((similarity.argmax(1) == numpy.arange(len(v))).mean())
        backward = float((similarity.argmax(0) == numpy.arange(len(v))).mean())
        distance = float(numpy.linalg.norm(v.mean(0) - en.mean(0)))
        results[language] = {"retrieval_accuracy": (forward + backward) / 2, "centroid_distance": distance}
    return results


def load_models(args) -> Dict[str, List[str]]:
    """`{name: [encoder folder or archive path, ...]}` in the order given; "before" first."""
    models = {"before": [args.encoder]}
    for spec in args.archive:
        name, _, paths = spec.partition("=")
        if not name or not paths:
            raise SystemExit(f"--archive {spec!r}: expected NAME=PATH[,PATH...]")
        if name in models:
            raise SystemExit(f"--archive {spec!r}: the name {name!r} is given twice")
        models[name] = paths.split(",")
    return models


def load_transformer(path: str, encoder: str):
    """The HF transformer and tokenizer of an encoder folder or of a trained archive's encoder."""
    from transformers import AutoModel, AutoTokenizer

    if path == encoder:
        return AutoModel.from_pretrained(path), AutoTokenizer.from_pretrained(path)
    from eapr_plugin.models.archival import load_run_archive  # checked, portable

    # an interrupted run's archive measures nothing this benchmark claims
    transformer = load_run_archive(path, allow_unfinished=False, escape=None)[0].model._transformer
    return transformer, AutoTokenizer.from_pretrained(transformer.config.name_or_path)


def summarize_runs(runs: List[Dict[str, Dict[str, float]]]) -> Dict[str, object]:
    """Per-language numbers averaged over runs, and the mean ± std over runs of the language means."""
    per_language = {language: {key: float(numpy.mean([run[language][key] for run in runs]))
                               for key in ("retrieval_accuracy", "centroid_distance")} for language in runs[0]}
    retrieval = mean_std([float(numpy.mean([r["retrieval_accuracy"] for r in run.values()])) for run in runs])
    distance = mean_std([float(numpy.mean([r["centroid_distance"] for r in run.values()])) for run in runs])
    return {
        "per_language": per_language, "runs": len(runs),
        "mean_retrieval_accuracy": retrieval["mean"], "std_retrieval_accuracy": retrieval["std"],
        "mean_centroid_distance": distance["mean"], "std_centroid_distance": distance["std"],
    }


def plot(all_vectors: Dict[str, Dict[str, numpy.ndarray]], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # One colour per language (tab20 + tab20b: 40 distinct colours), English in black crosses.
    colours = list(plt.get_cmap("tab20").colors) + list(plt.get_cmap("tab20b").colors)
    figure, axes = plt.subplots(1, len(all_vectors), figsize=(4.2 * len(all_vectors), 4.0), squeeze=False)
    for axis, (name, vectors) in zip(axes[0], all_vectors.items()):
        stacked = numpy.concatenate(list(vectors.values()))
        centered = stacked - stacked.mean(0)
        _, _, components = numpy.linalg.svd(centered, full_matrices=False)
        for index, (language, v) in enumerate(vectors.items()):
            projected = (v - stacked.mean(0)) @ components[:2].T
            english = is_english(language)
            axis.scatter(projected[:, 0], projected[:, 1], s=9 if english else 4, label=language,
                         alpha=0.9 if english else 0.6, color="black" if english else colours[index % len(colours)],
                         marker="x" if english else "os^D"[index // len(colours) % 4], zorder=3 if english else 2)
        axis.set_title(name, fontsize=9)
        axis.set_xticks([])
        axis.set_yticks([])
    axes[0][-1].legend(fontsize=6, markerscale=2, loc="center left", bbox_to_anchor=(1, 0.5))
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--encoder", required=True, help="the encoder before training (HF folder/name)")
    parser.add_argument("--parallel", required=True, help="glob of parallel files")
    parser.add_argument("--archive", action="append", default=[],
                        help="NAME=model.tar.gz[,model.tar.gz...] (repeatable; several archives = seeds)")
    parser.add_argument("--languages", nargs="*", default=None, help="keep only these languages")
    parser.add_argument("--limit", type=int, default=200, help="parallel rows used")
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "alignment.json"))
    args = parser.parse_args()
    parallel = read_parallel(args.parallel, args.limit)
    if args.languages:
        parallel = {l: s for l, s in parallel.items() if l in args.languages or is_english(l)}
    models = load_models(args)
    results, all_vectors = {}, {}
    for name, paths in models.items():
        runs = []
        for path in paths:
            transformer, tokenizer = load_transformer(path, args.encoder)
            vectors = {l: embed(transformer, tokenizer, s, args.max_length) for l, s in parallel.items()}
            all_vectors.setdefault(name, vectors)
            runs.append(measure(vectors))
        results[name] = {**summarize_runs(runs), "paths": paths}
        print(f"{name} ({len(runs)} run(s)): retrieval {results[name]['mean_retrieval_accuracy']:.3f} "
              f"± {results[name]['std_retrieval_accuracy']:.3f}, centroid distance "
              f"{results[name]['mean_centroid_distance']:.4f} ± {results[name]['std_centroid_distance']:.4f}",
              flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    report = {"date": date.today().isoformat(), "settings": vars(args), "sentences": len(next(iter(parallel.values()))),
              "results": results}
    out.write_text(json.dumps(report, indent=2))
    plot(all_vectors, str(out.with_suffix(".png")))


if __name__ == "__main__":
    main()
