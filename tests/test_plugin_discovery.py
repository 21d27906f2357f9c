"""`.allennlp_plugins` discovery: AllenNLP's own plugin loader imports eapr_plugin."""
import os
import subprocess
import sys

import pytest

from tests.support.cli import REPO

pytestmark = pytest.mark.slow


def test_plugin_file_names_the_package():
    assert (REPO / ".allennlp_plugins").read_text().split() == ["eapr_plugin"]


def test_allennlp_plugin_loader_resolves_registered_names():
    # A fresh interpreter, so no earlier import of eapr_plugin can make this pass.
    code = (
        "import sys\n"
        "from allennlp.common.plugins import import_plugins\n"
        "assert 'eapr_plugin' not in sys.modules\n"
        "import_plugins()\n"
        "assert 'eapr_plugin' in sys.modules\n"
        "from allennlp.models import Model\n"
        "from allennlp.data import DatasetReader\n"
        "from eapr_plugin.losses import PairLoss\n"
        "print(Model.by_name('eapr_classifier').__name__, DatasetReader.by_name('xnli').__name__,"
        " PairLoss.by_name('attention_pull').__name__)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == ["EaprClassifier", "XnliReader", "AttentionPull"]


def test_plugin_loader_outside_the_repo_does_not_find_it(tmp_path):
    code = (
        "import sys\n"
        "from allennlp.common.plugins import import_plugins\n"
        "import_plugins()\n"
        "print('eapr_plugin' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": ""},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "False"
