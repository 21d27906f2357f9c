"""
Small task files for tests and smoke benchmarks, written from the shipped multilingual corpus.

The labels carry no meaning (they cycle through the label set); these files exist to exercise
readers, training and evaluation end to end, not to measure accuracy.
"""
import json
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from eapr_plugin.dataset_readers.sib200 import SIB200_HEADER, SIB200_LABELS
from eapr_plugin.dataset_readers.xnli import XNLI_LABELS
from tests.support.tiny_encoders import CORPUS

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
    directory: str, split: str = "dev", labels: Sequence[str] = XNLI_LABELS,
    languages: Optional[Sequence[str]] = None, parallel: bool = False,
) -> Dict[str, str]:
    """Write `{split}-{lang}.tsv` (XTREME pair layout) for the corpus languages (or `languages`);
    `{lang: path}`. `parallel`: every file cut to the same number of rows, so files have the same
    label row by row (what the generalized cross-lingual setting pairs up, as XTREME's XNLI files)."""
    by_language = corpus_by_language()
    chosen = {language: by_language[language] for language in (languages or by_language)}
    rows = min(map(len, chosen.values())) if parallel else None
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    paths = {}
    for language, sentences in chosen.items():
        sentences = sentences[:rows]
        path = root / f"{split}-{language}.tsv"
        with open(path, "w", encoding="utf-8") as handle:
            for index, sentence in enumerate(sentences):
                other = sentences[(index + 1) % len(sentences)]
                handle.write(f"{sentence}\t{other}\t{labels[index % len(labels)]}\n")
        paths[language] = str(path)
    return paths


def write_parallel_pair_task(directory: str, languages: Sequence[str] = ("de", "fr", "zh")) -> Dict[str, str]:
    """`dev-{lang}.tsv` files of `languages`, parallel (see `write_pair_task`)."""
    return write_pair_task(directory, languages=languages, parallel=True)


def write_synonym_table(path: str) -> str:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(SYNONYMS, ensure_ascii=False), encoding="utf-8")
    return str(path)


SIB_LANGUAGES = {"en": "eng_Latn", "de": "deu_Latn", "fr": "fra_Latn", "zh": "zho_Hans"}


def write_topic_task(directory: str, split: str = "test") -> Dict[str, str]:
    """Write SIB-200-layout `{lang_Script}/{split}.tsv` files; returns `{folder_name: path}`."""
    paths = {}
    by_language = corpus_by_language()
    for short, folder_name in SIB_LANGUAGES.items():
        folder = Path(directory) / folder_name
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{split}.tsv"
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(SIB200_HEADER + "\n")
            for index, sentence in enumerate(by_language[short]):
                handle.write(f"{index}\t{SIB200_LABELS[index % len(SIB200_LABELS)]}\t{sentence}\n")
        paths[folder_name] = str(path)
    return paths


def tiny_ext_vars(encoder_dir: str, train: str, dev: str, synonyms: str, **extra: str) -> Dict[str, str]:
    """`EAPR_*` extVars for a tiny CPU run of the real `training_configs/` (read from the environment)."""
    return {
        "EAPR_ENCODER": encoder_dir,
        "EAPR_TRAIN_DATA": train,
        "EAPR_DEV_DATA": dev,
        "EAPR_SYNONYMS": synonyms,
        "EAPR_NUM_GPUS": "0",
        "EAPR_MAX_LENGTH": "32",
        "EAPR_NUM_PERTURBATIONS": "2",
        "EAPR_BATCH_SIZE": "4",
        "EAPR_GRAD_ACCUM": "2",
        "EAPR_LR": "1e-3",
        **extra,
    }
