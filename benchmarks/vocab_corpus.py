"""
Write the texts a benchmark's encoder must tokenize, one per line: the input for
`python scripts/offline_encoder.py OUT --vocab-corpus FILE`, which keeps only the vocabulary
pieces these texts need (a smaller embedding matrix: faster AdamW steps on CPU).

Files are read as the plugin's readers read them: SIB-200 files (header `index_id\tcategory\ttext`)
give their text column, XTREME TSVs (`text_a\ttext_b[\tlabel]`) their first two columns. With
`--synonyms`, every word of the perturbation table (keys and neighbours) is added too, so the
perturbed copies are segmented as the full vocabulary would segment them.

    python benchmarks/vocab_corpus.py runs/bench/pxn_texts.txt '../shared/data/pawsx/*.tsv' \
        '../shared/data/xnli/*.tsv' --synonyms ../shared/data/counterfitted_neighbors.json
"""
import argparse
import glob
import json
import sys
from pathlib import Path
from typing import Iterator

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from eapr_plugin.dataset_readers.sib200 import SIB200_HEADER  # noqa: E402


def texts_of(path: str) -> Iterator[str]:
    with open(path, encoding="utf-8") as handle:
        lines = [line.rstrip("\r\n") for line in handle]
    columns = [2] if lines and lines[0] == SIB200_HEADER else [0, 1]
    for line in lines[1:] if columns == [2] else lines:
        cells = line.split("\t")
        for column in columns:
            if column < len(cells) and cells[column].strip():
                yield cells[column].strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].strip())
    parser.add_argument("out")
    parser.add_argument("patterns", nargs="+", help="globs of data files")
    parser.add_argument("--synonyms", default=None, help="perturbation table (JSON {word: [neighbour, ...]})")
    args = parser.parse_args()
    paths = sorted({path for pattern in args.patterns for path in glob.glob(pattern)})
    if not paths:
        raise SystemExit(f"no files match {args.patterns}")
    count = 0
    with open(args.out, "w", encoding="utf-8") as out:
        for path in paths:
            for text in texts_of(path):
                out.write(text + "\n")
                count += 1
        if args.synonyms:
            with open(args.synonyms, encoding="utf-8") as handle:
                table = json.load(handle)
            for word in sorted(set(table) | {n for neighbours in table.values() for n in neighbours}):
                out.write(word + "\n")
                count += 1
    print(f"{args.out}: {count} texts from {len(paths)} files")


if __name__ == "__main__":
    main()
