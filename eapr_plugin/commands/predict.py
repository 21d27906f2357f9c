"""
`allennlp predict` for this plugin's models: every input line is read with its number, so a bad
line is an error naming `file:line`, and a blank line (which AllenNLP drops, shifting every later
prediction onto another input line) is refused.
"""
import sys
from typing import Iterator

from allennlp.commands.predict import _PredictManager
from allennlp.common.checks import ConfigurationError
from allennlp.common.file_utils import cached_path, open_compressed
from allennlp.common.util import JsonDict

from eapr_plugin.predictors.eapr_classifier import EaprClassifierPredictor


class _LinedPredictManager(_PredictManager):
    """For an `EaprClassifierPredictor`, hands it each line with its `file:line` and refuses blank
    lines (AllenNLP's manager drops them, so every later output would belong to another line)."""

    def _get_json_data(self) -> Iterator[JsonDict]:
        if not isinstance(self._predictor, EaprClassifierPredictor):
            yield from super()._get_json_data()
            return
        source = "<stdin>" if self._input_file == "-" else self._input_file
        handle = sys.stdin if self._input_file == "-" else open_compressed(cached_path(self._input_file))
        try:
            for number, line in enumerate(handle, start=1):
                if line.isspace() or not line:
                    raise ConfigurationError(
                        f"{source}:{number}: blank line; predictions are one per input line, so remove "
                        "blank lines (one JSON object per line)"
                    )
                yield self._predictor.load_line(line, location=f"{source}:{number}")
        finally:
            if handle is not sys.stdin:
                handle.close()


def extend_allennlp_predict() -> None:
    """
    Make `allennlp predict` read input lines through `_LinedPredictManager`. AllenNLP builds its
    command line before it imports plugins, so a plugin cannot register its own `predict`; its
    `_predict` looks the manager class up by name when it runs, so replacing that one name is
    enough. The subclass behaves exactly as AllenNLP's for every predictor but ours.
    """
    import allennlp.commands.predict as allennlp_predict

    allennlp_predict._PredictManager = _LinedPredictManager


extend_allennlp_predict()
