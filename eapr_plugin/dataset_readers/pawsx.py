from typing import Iterator

from allennlp.data import DatasetReader

from eapr_plugin.dataset_readers.eapr_reader import EaprReader
from eapr_plugin.dataset_readers.rows import Row
from eapr_plugin.dataset_readers.pair_tsv import xtreme_pair_rows

PAWSX_LABELS = ("0", "1")


@DatasetReader.register("pawsx")
class PawsxReader(EaprReader):
    """
    Paraphrase identification (sentence1, sentence2 → 1 paraphrase / 0 not) for PAWS-X, in the
    XTREME TSV layout (`sentence1 \\t sentence2 \\t label`, `dev-{lang}.tsv`, language from the
    file name), or Hugging Face `datasets` (`hf:google-research-datasets/paws-x:en:train`). See
    `EaprReader` for the shared options.

    Registered as a `DatasetReader` with name "pawsx".
    """

    hf_columns = ("sentence1", "sentence2", "label", "id")
    default_labels = PAWSX_LABELS

    def _read_rows(self, file_path: str) -> Iterator[Row]:
        return xtreme_pair_rows(file_path, self._language)
