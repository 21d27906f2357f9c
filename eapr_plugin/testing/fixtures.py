"""
Small task files for tests and smoke benchmarks, written from the shipped multilingual corpus.

The labels carry no meaning (they cycle through the label set); these files exist to exercise
readers, training and evaluation end to end, not to measure accuracy.
"""
import json
from pathlib import Path
from typing import Dict, List, Sequence

from eapr_plugin.testing.tiny_encoders import CORPUS

NLI_LABELS = ("entailment", "neutral", "contradiction")

#: a synonym table over words of the English corpus: some with neighbours, one with an empty list.
SYNONYMS = {
    "cat": ["kitten", "feline"],
    "man": ["guy", "gentleman"],
    "children": ["kids"],
    "small": ["little", "tiny"],
    "red": ["crimson"],
    "old": ["ancient", "aged"],
    "new": ["novel", "fresh"],
    "the": [],
    "The": ["A"],
}


def corpus_by_language() -> Dict[str, List[str]]:
    by_language: Dict[str, List[str]] = {}
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        language, sentence = line.split("\t", 1)
        by_language.setdefault(language, []).append(sentence)
    return by_language


def write_pair_task(
    directory: str, split: str = "dev", labels: Sequence[str] = NLI_LABELS
) -> Dict[str, str]:
    """Write `{split}-{lang}.tsv` (XTREME pair layout) for every corpus language; `{lang: path}`."""
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    paths = {}
    for language, sentences in corpus_by_language().items():
        path = root / f"{split}-{language}.tsv"
        with open(path, "w", encoding="utf-8") as handle:
            for index, sentence in enumerate(sentences):
                other = sentences[(index + 1) % len(sentences)]
                handle.write(f"{sentence}\t{other}\t{labels[index % len(labels)]}\n")
        paths[language] = str(path)
    return paths


def write_synonym_table(path: str) -> str:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(SYNONYMS, ensure_ascii=False), encoding="utf-8")
    return str(path)
