from typing import Iterator

from allennlp.data import DatasetReader

from eapr_plugin.dataset_readers.eapr_reader import EaprReader, Row
from eapr_plugin.dataset_readers.pair_tsv import xtreme_pair_rows

XNLI_LABELS = ("entailment", "neutral", "contradiction")


@DatasetReader.register("xnli")
class XnliReader(EaprReader):
    """
    Natural language inference (premise, hypothesis → entailment / neutral / contradiction) for
    XNLI, in the XTREME TSV layout (`premise \\t hypothesis \\t label`, one file per language,
    `dev-{lang}.tsv`, the language taken from the file name). See `EaprReader` for the shared
    options (perturbation, row ranges, validation, sharding).

    Registered as a `DatasetReader` with name "xnli".
    """

    default_labels = XNLI_LABELS

    def _read_rows(self, file_path: str) -> Iterator[Row]:
        return xtreme_pair_rows(file_path, self._language)
