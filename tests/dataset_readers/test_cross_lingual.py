"""The readers' `cross:PREMISE_INPUT::HYPOTHESIS_INPUT` paths (the generalized cross-lingual setting)."""
import pytest
from allennlp.common.checks import ConfigurationError
from allennlp.data.tokenizers import PretrainedTransformerTokenizer

from eapr_plugin.dataset_readers import Sib200Reader, XnliReader
from eapr_plugin.dataset_readers.eapr_reader import cross_lingual_path
from tests.support.tasks import write_parallel_pair_task


@pytest.fixture
def parallel(tmp_path):
    return write_parallel_pair_task(str(tmp_path / "parallel"))


@pytest.fixture
def reader(tiny_encoders):
    return XnliReader(tokenizer=PretrainedTransformerTokenizer(tiny_encoders["tiny-bert"], max_length=32))


def test_premise_from_one_file_hypothesis_from_the_other(reader, parallel):
    crossed = list(reader.read(cross_lingual_path(parallel["de"], parallel["fr"])))
    german, french = list(reader.read(parallel["de"])), list(reader.read(parallel["fr"]))
    assert len(crossed) == len(german) == len(french)
    for pair, de, fr in zip(crossed, german, french):
        assert pair["metadata"]["text_a"] == de["metadata"]["text_a"]
        assert pair["metadata"]["text_b"] == fr["metadata"]["text_b"]
        assert pair["label"].label == de["label"].label
        assert pair["metadata"]["language"] == "de/fr"
    # the same language on both sides is the file itself
    same = list(reader.read(cross_lingual_path(parallel["de"], parallel["de"])))
    assert [i["tokens"].tokens for i in same] == [i["tokens"].tokens for i in german]


def test_inputs_that_are_not_parallel_are_refused(reader, parallel, tmp_path):
    lines = open(parallel["fr"], encoding="utf-8").read().splitlines()
    shorter = tmp_path / "dev-fr.tsv"
    shorter.write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match=f"not parallel: {parallel['de']} has more rows than {shorter}"):
        list(reader.read(cross_lingual_path(parallel["de"], str(shorter))))
    premise, hypothesis, label = lines[1].split("\t")
    other = "neutral" if label != "neutral" else "entailment"
    relabelled = tmp_path / "dev-es.tsv"
    relabelled.write_text("\n".join([lines[0], f"{premise}\t{hypothesis}\t{other}"] + lines[2:]) + "\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match=f"{relabelled}:2: labels differ"):
        list(reader.read(cross_lingual_path(parallel["de"], str(relabelled))))


def test_malformed_paths_and_single_text_tasks_are_refused(reader, tiny_encoders, parallel):
    with pytest.raises(ConfigurationError, match="a cross-lingual path is cross:PREMISE_INPUT::HYPOTHESIS_INPUT"):
        list(reader.read(f"cross:{parallel['de']}"))
    sib = Sib200Reader(tokenizer=PretrainedTransformerTokenizer(tiny_encoders["tiny-bert"], max_length=32))
    with pytest.raises(ConfigurationError, match="cross-lingual pairs need a sentence-pair task"):
        list(sib.read(cross_lingual_path(parallel["de"], parallel["fr"])))
