"""
Rows from Hugging Face `datasets`, named in a data path:

- `hf:NAME:CONFIG:SPLIT`, e.g. `hf:facebook/xnli:en:train`, `hf:google-research-datasets/paws-x:de:test`
  → `datasets.load_dataset(NAME, CONFIG, split=SPLIT)` (Hub or local cache; a local dataset folder
  works as NAME too);
- `hf-disk:PATH[:SPLIT]` → `datasets.load_from_disk(PATH)` (a folder written by `save_to_disk`;
  SPLIT selects from a `DatasetDict`).

Integer `ClassLabel` labels are turned into their names, other labels into strings.
"""
from typing import Iterator, Optional, Sequence, Tuple

from allennlp.common.checks import ConfigurationError

from eapr_plugin.dataset_readers.rows import Row

HF_PREFIXES = ("hf:", "hf-disk:")


def is_hf_path(file_path: str) -> bool:
    return file_path.startswith(HF_PREFIXES)


def parse_hf_path(file_path: str) -> Tuple[str, str, Optional[str], Optional[str]]:
    """`(kind, name_or_path, config, split)` of an `hf:` / `hf-disk:` data path."""
    if file_path.startswith("hf-disk:"):
        path, _, split = file_path[len("hf-disk:") :].partition(":")
        return "disk", path, None, split or None
    parts = file_path[len("hf:") :].split(":")
    if len(parts) != 3 or not all(parts):
        raise ConfigurationError(
            f"data path {file_path!r}: expected 'hf:NAME:CONFIG:SPLIT', "
            "e.g. 'hf:facebook/xnli:en:train'"
        )
    return "hub", parts[0], parts[1], parts[2]


def load_hf(file_path: str):
    import datasets

    kind, name, config, split = parse_hf_path(file_path)
    try:
        if kind == "disk":
            loaded = datasets.load_from_disk(name)
            if isinstance(loaded, datasets.DatasetDict):
                if split is None or split not in loaded:
                    raise ConfigurationError(
                        f"data path {file_path!r}: the saved DatasetDict has splits "
                        f"{sorted(loaded)}; name one as 'hf-disk:PATH:SPLIT'"
                    )
                loaded = loaded[split]
            return loaded, None  # a saved dataset has no config name: set the reader's `language`
        return datasets.load_dataset(name, config, split=split), config
    except ConfigurationError:
        raise
    except Exception as error:  # network, unknown dataset/config/split, offline mode
        raise ConfigurationError(
            f"data path {file_path!r}: cannot load the Hugging Face dataset ({type(error).__name__}: "
            f"{error}). Offline? Set HF_DATASETS_OFFLINE=0 with network access, or use local files."
        ) from error


def hf_rows(
    file_path: str, columns: Sequence[Optional[str]], language: Optional[str] = None
) -> Iterator[Row]:
    """Rows of an HF dataset; `columns` = (text_a, text_b or None, label, id or None)."""
    dataset, config = load_hf(file_path)
    text_a, text_b, label, identifier = columns
    missing = [c for c in columns if c is not None and c not in dataset.column_names]
    if missing:
        raise ConfigurationError(
            f"data path {file_path!r}: dataset columns {dataset.column_names} lack {missing}"
        )
    feature = dataset.features.get(label)
    names = getattr(feature, "names", None)
    language = language or config
    for index, example in enumerate(dataset):
        value = example[label]
        if names is not None and isinstance(value, int):
            # -1 marks "no label" in HF ClassLabel columns (e.g. unlabelled test splits)
            value = names[value] if 0 <= value < len(names) else None
        elif value is not None:
            value = str(value)
        example_id = str(example[identifier]) if identifier else f"{file_path}[{index}]"
        yield Row(
            example[text_a],
            example[text_b] if text_b else None,
            value,
            language,
            example_id,
            f"{file_path}[{index}]",
        )
