import json
import os
from typing import Iterator

from allennlp.common.checks import ConfigurationError
from allennlp.data import DatasetReader

from eapr_plugin.common.languages import ISO_ENGLISH
from eapr_plugin.dataset_readers.eapr_reader import EaprReader
from eapr_plugin.dataset_readers.rows import Row, read_lines
from eapr_plugin.dataset_readers.pair_tsv import xtreme_pair_rows

XNLI_LABELS = ("entailment", "neutral", "contradiction")
XNLI10_REQUIRED = ("language", "gold_label", "sentence1", "sentence2")


@DatasetReader.register("xnli")
class XnliReader(EaprReader):
    """
    Natural language inference (premise, hypothesis → entailment / neutral / contradiction) for
    XNLI and its English training set MultiNLI. The format is taken from the data path:

    - `hf:NAME:CONFIG:SPLIT` / `hf-disk:PATH[:SPLIT]`: Hugging Face `datasets`, e.g.
      `hf:facebook/xnli:en:train` (MultiNLI, the paper's training set) or `hf:facebook/xnli:de:test`;
    - `*.jsonl`: MultiNLI (`sentence1`, `sentence2`, `gold_label`, `pairID`); rows whose
      `gold_label` is `-` (no annotator consensus) are invalid rows (use `skip_invalid`);
    - a TSV whose header starts with `language\\tgold_label`: the original XNLI-1.0 release
      (`xnli.dev.tsv`, `xnli.test.tsv`, all languages in one file); `language` (if set) keeps
      only that language's rows, otherwise every row is tagged with its own language;
    - any other TSV: the XTREME layout `premise \\t hypothesis \\t label` (one file per language,
      `dev-{lang}.tsv`, the language taken from the file name).

    See `EaprReader` for the shared options (perturbation, row ranges, validation, sharding).

    Registered as a `DatasetReader` with name "xnli".
    """

    default_labels = XNLI_LABELS
    hf_columns = ("premise", "hypothesis", "label", None)

    def _read_rows(self, file_path: str) -> Iterator[Row]:
        if file_path.endswith(".jsonl"):
            return self._multinli_rows(file_path)
        first = next(read_lines(file_path), (None, None, None))[1]
        if first is not None and first.startswith("language\tgold_label"):
            return self._xnli10_rows(file_path)
        return xtreme_pair_rows(file_path, self._language)

    def _multinli_rows(self, file_path: str) -> Iterator[Row]:
        for number, text, problem in read_lines(file_path):
            location = f"{file_path}:{number}"
            example = None
            if problem is None:
                try:
                    example = json.loads(text)
                except json.JSONDecodeError as error:
                    problem = f"not a JSON object ({error.msg})"
                else:
                    missing = [k for k in ("sentence1", "sentence2", "gold_label") if k not in example]
                    if missing:
                        problem = f"JSON object lacks {missing}"
                    elif example["gold_label"] == "-":
                        problem = "gold_label '-' (no annotator consensus)"
            if problem is not None:
                yield Row("", None, None, ISO_ENGLISH, f"mnli:{number}", location, problem)
                continue
            example_id = str(example.get("pairID", f"{os.path.basename(file_path)}:{number}"))
            yield Row(example["sentence1"], example["sentence2"], example["gold_label"],
                      self._language or ISO_ENGLISH, example_id, location)

    def _xnli10_rows(self, file_path: str) -> Iterator[Row]:
        columns = None
        for number, text, problem in read_lines(file_path):
            location = f"{file_path}:{number}"
            if number == 1:
                columns = {name: index for index, name in enumerate(text.split("\t"))}
                missing = [c for c in XNLI10_REQUIRED if c not in columns]
                if missing:
                    raise ConfigurationError(f"{location}: XNLI-1.0 header lacks columns {missing}")
                continue
            fields = (text or "").split("\t")
            if problem is None and len(fields) != len(columns):
                problem = f"expected {len(columns)} tab-separated columns, found {len(fields)}"
            if problem is not None:
                yield Row("", None, None, None, f"xnli10:{number}", location, problem)
                continue
            language = fields[columns["language"]]
            if self._language is not None and language != self._language:
                continue  # a language filter, not a drop: other languages are other data sets
            pair_id = fields[columns["pairID"]] if "pairID" in columns else str(number)
            yield Row(fields[columns["sentence1"]], fields[columns["sentence2"]],
                      fields[columns["gold_label"]], language, f"{language}:{pair_id}", location)
