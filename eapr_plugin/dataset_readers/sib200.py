import os
from typing import Iterator

from allennlp.common.checks import ConfigurationError
from allennlp.data import DatasetReader

from eapr_plugin.dataset_readers.eapr_reader import EaprReader
from eapr_plugin.dataset_readers.rows import Row, read_lines
from eapr_plugin.common.languages import is_language_code

SIB200_LABELS = (
    "science/technology",
    "travel",
    "politics",
    "sports",
    "health",
    "entertainment",
    "geography",
)
#: The first line of every SIB-200 file (the layout's one home: the demo and the tests write it too).
SIB200_HEADER = "index_id\tcategory\ttext"


@DatasetReader.register("sib200")
class Sib200Reader(EaprReader):
    """
    Single-sentence topic classification (7 topics) in the SIB-200 layout: one folder per language
    (`eng_Latn/`, `deu_Latn/`, ...) holding `train.tsv`, `dev.tsv`, `test.tsv` with the header
    `index_id \\t category \\t text`. The language is the folder name; the example id is the
    `index_id` (the same id across languages is the same sentence translated). Hugging Face
    `datasets` paths work too (`hf:Davlan/sib200:deu_Latn:test`). See `EaprReader` for the shared
    options.

    Registered as a `DatasetReader` with name "sib200".
    """

    hf_columns = ("text", None, "category", "index_id")
    pair_task = False
    default_labels = SIB200_LABELS

    def _read_rows(self, file_path: str) -> Iterator[Row]:
        folder = os.path.basename(os.path.dirname(os.path.abspath(file_path)))
        language = self._language or (folder if is_language_code(folder) else None)
        lines = read_lines(file_path)
        for number, text, problem in lines:
            if number == 1:
                if problem is not None or text != SIB200_HEADER:
                    raise ConfigurationError(
                        f"{file_path}:1: expected the SIB-200 header {SIB200_HEADER!r}, found {text!r}"
                    )
                continue
            location = f"{file_path}:{number}"
            fields = (text or "").split("\t")
            if problem is None and len(fields) != 3:
                problem = f"expected 3 tab-separated columns (index_id, category, text), found {len(fields)}"
            if problem is not None:
                yield Row("", None, None, language, f"{language}:{number}", location, problem)
                continue
            yield Row(fields[2], None, fields[1], language, fields[0], location)
