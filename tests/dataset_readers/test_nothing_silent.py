"""
The readers never hand over nothing and never let the method degrade unnoticed: zero instances
(whatever the cause), too many skipped rows, unchanged perturbations, a byte-order mark, a row
missing a column, a label the training data never shows.
"""
import logging

import pytest
from allennlp.common.checks import ConfigurationError
from allennlp.data.tokenizers import PretrainedTransformerTokenizer

from eapr_plugin.dataset_readers import InvalidRowError, Sib200Reader, XnliReader
from eapr_plugin.dataset_readers.sib200 import SIB200_HEADER
from eapr_plugin.perturbers import SynonymPerturber
from tests.support.tasks import write_synonym_table


@pytest.fixture
def tokenizer(tiny_encoders):
    return PretrainedTransformerTokenizer(tiny_encoders["tiny-bert"], max_length=32)


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("content, settings, reason", [
    ("", {}, "it holds no data rows"),
    (SIB200_HEADER + "\n", {"sib": True}, "it holds no data rows"),
    ("a\tb\tneutral\nc\td\tneutral\n", {"start": 2}, "the row range starts at row 2"),
    ("a\tb\tneutral\nc\td\tneutral\n", {"start": 5, "end": 9}, "the row range starts at row 5"),
    ("a\tb\tmaybe\nc\td\tperhaps\n", {"skip_invalid": True, "max_skipped_share": 1.0}, "all 2 rows read were invalid"),
])
def test_a_source_with_no_instance_is_an_error_naming_it(tokenizer, tmp_path, content, settings, reason):
    settings = dict(settings)
    if settings.pop("sib", False):
        (tmp_path / "eng_Latn").mkdir()
        path, reader = write(tmp_path / "eng_Latn" / "train.tsv", content), Sib200Reader(tokenizer=tokenizer, **settings)
    else:
        path, reader = write(tmp_path / "dev-en.tsv", content), XnliReader(tokenizer=tokenizer, **settings)
    with pytest.raises(ConfigurationError, match=rf"{path}: no instances to read: {reason}.*EAPR_TRAIN_DATA"):
        list(reader.read(path))


def test_a_language_filter_that_matches_nothing(tokenizer, tmp_path):
    header = "language\tgold_label\tsentence1\tsentence2\tpairID"
    path = write(tmp_path / "xnli.dev.tsv", f"{header}\nde\tneutral\tA\tB\t1\n")
    with pytest.raises(ConfigurationError, match=r"no row of language 'fr'"):
        list(XnliReader(tokenizer=tokenizer, language="fr").read(path))


def test_unchanged_perturbations_are_an_error_and_few_changes_a_warning(tokenizer, tmp_path, caplog):
    path = write(tmp_path / "dev-en.tsv", "".join(f"word{i} here\tother words\tneutral\n" for i in range(20)))
    nothing = write_synonym_table(str(tmp_path / "none.json"))  # no word of these rows is in the table
    reader = XnliReader(tokenizer=tokenizer, perturber=SynonymPerturber(nothing), num_perturbations=2)
    with pytest.raises(ConfigurationError, match=r"none of the 40 perturbed copies differs.*none.json"):
        list(reader.read(path))
    # one row in 20 can change ("word0" has a neighbour): a warning that names the table and the share
    table = tmp_path / "few.json"
    table.write_text('{"word0": ["term0"]}', encoding="utf-8")
    reader = XnliReader(tokenizer=tokenizer, perturber=SynonymPerturber(str(table)), num_perturbations=2)
    with caplog.at_level(logging.WARNING):
        instances = list(reader.read(path))
    made, changed = reader.perturbation_counts
    assert made == 40 and 0 < changed <= 2 and len(instances) == 40
    assert f"only {100 * changed / made:.1f}% of the perturbed copies differ" in caplog.text and "few.json" in caplog.text


def test_a_perturber_without_copies_is_refused(tokenizer, synonym_table):
    with pytest.raises(ConfigurationError, match=r"`num_perturbations` = 0 makes no training pairs.*EAPR_NUM_PERTURBATIONS"):
        XnliReader(tokenizer=tokenizer, perturber=SynonymPerturber(synonym_table), num_perturbations=0)


def test_a_byte_order_mark_changes_nothing(tokenizer, tmp_path):
    plain = write(tmp_path / "dev-en.tsv", "A cat .\tA dog .\tneutral\n")
    (tmp_path / "bom").mkdir()
    bom = str(tmp_path / "bom" / "dev-en.tsv")
    (tmp_path / "bom" / "dev-en.tsv").write_bytes(b"\xef\xbb\xbf" + b"A cat .\tA dog .\tneutral\n")
    a, b = (next(iter(XnliReader(tokenizer=tokenizer).read(p))) for p in (plain, bom))
    assert a["metadata"]["text_a"] == b["metadata"]["text_a"] == "A cat ."
    (tmp_path / "eng_Latn").mkdir()
    (tmp_path / "eng_Latn" / "test.tsv").write_bytes(
        b"\xef\xbb\xbf" + f"{SIB200_HEADER}\n1\tsports\tA match .\n".encode())
    assert len(list(Sib200Reader(tokenizer=tokenizer).read(str(tmp_path / "eng_Latn" / "test.tsv")))) == 1


def test_a_row_missing_a_column_is_blamed_itself_even_first(tokenizer, tmp_path):
    path = write(tmp_path / "dev-en.tsv", "A cat .\tA dog .\nB\tC\tneutral\nD\tE\tentailment\n")
    with pytest.raises(InvalidRowError, match=r"dev-en.tsv:1: expected 3 tab-separated columns .* found 2"):
        list(XnliReader(tokenizer=tokenizer).read(path))


def test_a_declared_label_missing_from_the_data_is_a_warning(tokenizer, tmp_path, caplog):
    path = write(tmp_path / "dev-en.tsv", "a\tb\tneutral\nc\td\tentailment\n")
    with caplog.at_level(logging.WARNING):
        list(XnliReader(tokenizer=tokenizer).read(path))
    assert "no row has the label(s) ['contradiction']" in caplog.text
