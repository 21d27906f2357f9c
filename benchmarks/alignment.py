"""
Cross-lingual alignment of the encoder before and after training: retrieval accuracy on parallel
sentences, distance between language centroids, and a 2-D projection coloured by language.

Sentences are represented by the padding-masked mean of the encoder's last layer. For every
non-English language, retrieval accuracy is the share of its sentences whose nearest English
sentence (cosine) is their translation, averaged with the English→language direction. Centroid
distance is the Euclidean distance between the mean representation of a language and of English
(on L2-normalised representations). Models: the encoder before training (`--encoder`) and any
number of trained archives (`--archive NAME=PATH`, e.g. baseline and EAPR).

Parallel data: SIB-200 `{lang}/test.tsv` files (rows aligned by `index_id`) or XTREME-layout
`test-{lang}.tsv` files (15-way parallel rows; first column), given as a glob.

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
ENGLISH = ("en", "eng_Latn")


def read_parallel(pattern: str, limit: int) -> Dict[str, List[str]]:
    """`{lang: [sentence, ...]}` with row i the same sentence in every language."""
    texts: Dict[str, Dict[str, str]] = {}
    for path in sorted(glob.glob(pattern)):
        lines = open(path, encoding="utf-8").read().splitlines()
        if lines and lines[0].startswith("index_id\t"):
            language = os.path.basename(os.path.dirname(path))
            texts[language] = {line.split("\t")[0]: line.split("\t")[2] for line in lines[1:]}
        else:
            language = os.path.basename(path).split(".")[0].rsplit("-", 1)[-1]
            texts[language] = {str(i): line.split("\t")[0] for i, line in enumerate(lines)}
    if not texts:
        raise SystemExit(f"no files match {pattern!r}")
    keys = sorted(set.intersection(*(set(t) for t in texts.values())), key=lambda k: (len(k), k))[:limit]
    return {language: [by_key[k] for k in keys] for language, by_key in texts.items()}


def embed(transformer, tokenizer, sentences: List[str], max_length: int, batch_size: int = 32) -> numpy.ndarray:
    transformer.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(sentences), batch_size):
            batch = tokenizer(sentences[start : start + batch_size], padding=True, truncation=True,
                              max_length=max_length, return_tensors="pt")
            hidden = transformer(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).float()
            out.append(((hidden * mask).sum(1) / mask.sum(1)).numpy())
    vectors = numpy.concatenate(out)
    return vectors / numpy.linalg.norm(vectors, axis=1, keepdims=True)


def measure(vectors: Dict[str, numpy.ndarray]) -> Dict[str, Dict[str, float]]:
    english = next(l for l in vectors if l in ENGLISH)
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


def load_models(args):
    from transformers import AutoModel, AutoTokenizer

    models = {"before": (AutoModel.from_pretrained(args.encoder), AutoTokenizer.from_pretrained(args.encoder))}
    for spec in args.archive:
        name, path = spec.split("=", 1)
        import eapr_plugin  # noqa: F401
        from allennlp.models.archival import load_archive

        archive = load_archive(path)
        transformer = archive.model._transformer
        model_name = transformer.config.name_or_path
        models[name] = (transformer, AutoTokenizer.from_pretrained(model_name))
    return models


def plot(all_vectors: Dict[str, Dict[str, numpy.ndarray]], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(all_vectors), figsize=(4.2 * len(all_vectors), 4.0), squeeze=False)
    for axis, (name, vectors) in zip(axes[0], all_vectors.items()):
        stacked = numpy.concatenate(list(vectors.values()))
        centered = stacked - stacked.mean(0)
        _, _, components = numpy.linalg.svd(centered, full_matrices=False)
        start = 0
        for language, v in vectors.items():
            projected = (v - stacked.mean(0)) @ components[:2].T
            axis.scatter(projected[:, 0], projected[:, 1], s=4, label=language, alpha=0.6)
            start += len(v)
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
    parser.add_argument("--archive", action="append", default=[], help="NAME=model.tar.gz (repeatable)")
    parser.add_argument("--languages", nargs="*", default=None, help="keep only these languages")
    parser.add_argument("--limit", type=int, default=200, help="parallel rows used")
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "alignment.json"))
    args = parser.parse_args()
    parallel = read_parallel(args.parallel, args.limit)
    if args.languages:
        parallel = {l: s for l, s in parallel.items() if l in args.languages or l in ENGLISH}
    models = load_models(args)
    results, all_vectors = {}, {}
    for name, (transformer, tokenizer) in models.items():
        vectors = {l: embed(transformer, tokenizer, s, args.max_length) for l, s in parallel.items()}
        all_vectors[name] = vectors
        per_language = measure(vectors)
        results[name] = {
            "per_language": per_language,
            "mean_retrieval_accuracy": float(numpy.mean([r["retrieval_accuracy"] for r in per_language.values()])),
            "mean_centroid_distance": float(numpy.mean([r["centroid_distance"] for r in per_language.values()])),
        }
        print(f"{name}: retrieval {results[name]['mean_retrieval_accuracy']:.3f}, "
              f"centroid distance {results[name]['mean_centroid_distance']:.4f}", flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    report = {"date": date.today().isoformat(), "settings": vars(args), "sentences": len(next(iter(parallel.values()))),
              "results": results}
    out.write_text(json.dumps(report, indent=2))
    plot(all_vectors, str(out.with_suffix(".png")))


if __name__ == "__main__":
    main()
