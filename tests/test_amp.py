"""The recipe's mixed-precision path (`EAPR_AMP=true`) on a GPU; skipped, with the reason, elsewhere."""
import json

import pytest
import torch

from tests.support.cli import run_allennlp
from tests.support.tasks import tiny_ext_vars

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="AMP runs on CUDA only, and this machine has no GPU"),
]


def test_eapr_trains_with_amp_on_the_gpu(tiny_encoders, nli_files, synonym_table, tmp_path):
    env = tiny_ext_vars(tiny_encoders["tiny-bert"], nli_files["en"], nli_files["en"], synonym_table,
                        EAPR_AMP="true", EAPR_NUM_GPUS="1")
    run_allennlp(["train", "training_configs/xnli_eapr.jsonnet", "-s", tmp_path / "run"], env)
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    for key in ("training_task_loss", "training_embedding_push_loss", "training_attention_pull_loss"):
        assert metrics[key] == metrics[key] and abs(metrics[key]) < float("inf"), key  # finite under fp16
