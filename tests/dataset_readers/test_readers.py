"""Readers: training pairs with perturbed copies, plain evaluation instances, validation, ranges."""
import logging
import random

import pytest
from allennlp.common.checks import ConfigurationError
from allennlp.data.tokenizers import PretrainedTransformerTokenizer

from eapr_plugin.dataset_readers import InvalidRowError, PawsxReader, Sib200Reader, XnliReader
from eapr_plugin.perturbers import SynonymPerturber


@pytest.fixture
def tokenizer(tiny_encoders):
    return PretrainedTransformerTokenizer(tiny_encoders["tiny-bert"], max_length=32)


def texts(instance, field):
    return [t.text for t in instance[field].tokens]


def test_training_instances_are_pairs_with_perturbed_copies(tokenizer, nli_files, synonym_table):
    reader = XnliReader(tokenizer=tokenizer, perturber=SynonymPerturber(synonym_table), num_perturbations=3)
    instances = list(reader.read(nli_files["en"]))
    lines = open(nli_files["en"], encoding="utf-8").read().splitlines()
    assert len(instances) == 3 * len(lines)
    first = instances[0]
    assert set(first.fields) == {"tokens", "perturbed_tokens", "label", "metadata"}
    metadata = first["metadata"].metadata
    assert metadata["language"] == "en" and metadata["example_id"] == "dev-en.tsv:1"
    assert [i["metadata"]["copy"] for i in instances[:3]] == [0, 1, 2]
    assert {i["metadata"]["text_a"] for i in instances[:3]} == {lines[0].split("\t")[0]}
    # pairs: [CLS] a [SEP] b [SEP] with type ids 0 then 1, in both streams
    for field in ("tokens", "perturbed_tokens"):
        tokens = first[field].tokens
        assert tokens[0].text == "[CLS]" and tokens[-1].text == "[SEP]"
        assert [t.type_id for t in tokens].count(1) > 0
    # the copies are perturbations: word count kept, some differ from the original
    for instance in instances:
        m = instance["metadata"].metadata
        assert len(m["perturbed_a"].split(" ")) == len(m["text_a"].split(" "))
        assert len(m["perturbed_b"].split(" ")) == len(m["text_b"].split(" "))
    assert any(i["metadata"]["perturbed_a"] != i["metadata"]["text_a"] for i in instances)
    assert all(i["label"].label == lines[k // 3].split("\t")[2] for k, i in enumerate(instances))


def test_a_pairs_copies_come_from_one_perturb_pair_call(tokenizer, nli_files, synonym_table):
    """The reader hands both texts of a pair to the perturber at once (so shared swaps can tie them)."""
    reader = XnliReader(tokenizer=tokenizer, perturber=SynonymPerturber(synonym_table, shared_pair_swaps=True),
                        num_perturbations=2, seed=5)
    for instance in reader.read(nli_files["en"]):
        m = instance["metadata"].metadata
        rng = random.Random(f"5|{m['example_id']}|{m['copy']}")
        expected = SynonymPerturber(synonym_table, shared_pair_swaps=True).perturb_pair(m["text_a"], m["text_b"], rng)
        assert (m["perturbed_a"], m["perturbed_b"]) == expected


def test_evaluation_instances_have_no_perturbed_field(tokenizer, nli_files):
    instances = list(XnliReader(tokenizer=tokenizer).read(nli_files["zh"]))
    assert set(instances[0].fields) == {"tokens", "label", "metadata"}
    assert instances[0]["metadata"]["language"] == "zh"


def test_same_seed_same_copies_whatever_the_sharding(tokenizer, nli_files, synonym_table):
    def copies(seed, **kwargs):
        reader = XnliReader(tokenizer=tokenizer, perturber=SynonymPerturber(synonym_table),
                            num_perturbations=2, seed=seed, **kwargs)
        return {(i["metadata"]["example_id"], i["metadata"]["copy"]): i["metadata"]["perturbed_a"]
                for i in reader.read(nli_files["en"])}

    full = copies(7)
    assert full == copies(7)
    assert full != copies(8)
    # a row range reads a subset, and its copies are the same as in the full read
    part = copies(7, start=3, end=6)
    assert len(part) == 6 and all(full[key] == value for key, value in part.items())


def test_single_sentence_task(tokenizer, tmp_path, synonym_table):
    folder = tmp_path / "eng_Latn"
    folder.mkdir()
    (folder / "train.tsv").write_text(
        "index_id\tcategory\ttext\n"
        "1\tsports\tThe team won the match .\n"
        "2\ttravel\tThe old town has a small red bridge .\n", encoding="utf-8")
    reader = Sib200Reader(tokenizer=tokenizer, perturber=SynonymPerturber(synonym_table), num_perturbations=2)
    instances = list(reader.read(str(folder / "train.tsv")))
    assert len(instances) == 4
    assert instances[0]["metadata"]["language"] == "eng_Latn"
    assert instances[2]["metadata"]["example_id"] == "2"
    assert instances[0]["metadata"]["text_b"] is None
    assert all(t.type_id in (0, None) for t in instances[0]["tokens"].tokens)
    assert [i["label"].label for i in instances] == ["sports", "sports", "travel", "travel"]


def test_pawsx_labels(tokenizer, tmp_path):
    path = tmp_path / "dev-de.tsv"
    path.write_text("Ein Satz .\tNoch ein Satz .\t1\nA\tB\t0\n", encoding="utf-8")
    assert [i["label"].label for i in PawsxReader(tokenizer=tokenizer).read(str(path))] == ["1", "0"]
    path.write_text("Ein Satz .\tNoch ein Satz .\tentailment\n", encoding="utf-8")
    with pytest.raises(InvalidRowError, match=r"dev-de.tsv:1: unknown label 'entailment'"):
        list(PawsxReader(tokenizer=tokenizer).read(str(path)))


def test_unlabelled_test_file_reads_without_labels(tokenizer, tmp_path):
    path = tmp_path / "test-fr.tsv"
    path.write_text("Le chat dort .\tUn homme lit .\n", encoding="utf-8")
    instance = next(iter(XnliReader(tokenizer=tokenizer).read(str(path))))
    assert "label" not in instance.fields


BAD_ROWS = [
    ("a\tb\tentailment\na\tb\n", r":2: expected 3 tab-separated columns"),
    ("a\tb\tentailment\n\tb\tneutral\n", r":2: empty first text field"),
    ("a\tb\tentailment\na\t \tneutral\n", r":2: empty second text field"),
    ("a\tb\tentailment\na\tb\tmaybe\n", r":2: unknown label 'maybe' \(setting `labels`"),
    ("a\tb\tentailment\n\n", r":2: empty line"),
]


@pytest.mark.parametrize("content, message", BAD_ROWS)
def test_bad_rows_are_errors_naming_file_and_line(tokenizer, tmp_path, content, message):
    path = tmp_path / "dev-en.tsv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InvalidRowError, match=message) as error:
        list(XnliReader(tokenizer=tokenizer).read(str(path)))
    assert str(path) in str(error.value)


def test_non_utf8_is_an_error_naming_the_line(tokenizer, tmp_path):
    path = tmp_path / "dev-en.tsv"
    path.write_bytes(b"a\tb\tentailment\nc\xff\td\tneutral\n")
    with pytest.raises(InvalidRowError, match=r"dev-en.tsv:2: not valid UTF-8"):
        list(XnliReader(tokenizer=tokenizer).read(str(path)))


def test_skip_invalid_counts_and_reports(tokenizer, tmp_path, caplog):
    path = tmp_path / "dev-en.tsv"
    path.write_bytes(b"a\tb\tentailment\nc\xff\td\tneutral\nx\ty\tmaybe\ne\tf\tneutral\ng\th\n")
    reader = XnliReader(tokenizer=tokenizer, skip_invalid=True, max_skipped_share=0.6)
    with caplog.at_level(logging.WARNING):
        instances = list(reader.read(str(path)))
    assert len(instances) == 2
    assert reader.skipped_rows == 3
    assert "skipped 3 of 5 invalid row(s)" in caplog.text and "unknown label 'maybe'" in caplog.text
    # more than the allowed share skipped: the layout is probably wrong, so reading fails
    with pytest.raises(ConfigurationError, match=r"3 of 5 rows are invalid, more than `max_skipped_share` = 0.1"):
        list(XnliReader(tokenizer=tokenizer, skip_invalid=True).read(str(path)))


def test_missing_file_is_a_clear_error(tokenizer, tmp_path):
    with pytest.raises(ConfigurationError, match="cannot open data file"):
        list(XnliReader(tokenizer=tokenizer).read(str(tmp_path / "nope.tsv")))


def test_bad_sib200_header(tokenizer, tmp_path):
    path = tmp_path / "train.tsv"
    path.write_text("id\tlabel\ttext\n1\tsports\tx\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"train.tsv:1: expected the SIB-200 header"):
        list(Sib200Reader(tokenizer=tokenizer).read(str(path)))


def test_real_files_read(tokenizer, shared_data, synonym_table):
    xnli = list(XnliReader(tokenizer=tokenizer, end=30).read(str(shared_data / "xnli" / "dev-en.tsv")))
    assert len(xnli) == 30
    sib = list(Sib200Reader(tokenizer=tokenizer).read(str(shared_data / "sib200" / "deu_Latn" / "test.tsv")))
    assert len(sib) == 204
    paws = list(PawsxReader(tokenizer=tokenizer, start=1000).read(str(shared_data / "pawsx" / "dev-ja.tsv")))
    assert len(paws) == 1000


def test_unknown_language_code_is_a_clear_error(tokenizer, tmp_path):
    for code in ("english", "ger", "EN"):
        with pytest.raises(ConfigurationError, match=rf"unknown language code '{code}' \(setting `language`\)"):
            XnliReader(tokenizer=tokenizer, language=code)
    assert XnliReader(tokenizer=tokenizer, language="zho_Hans")._language == "zho_Hans"
    # a file name without a language-code suffix tags nothing instead of inventing a language
    path = tmp_path / "dev-english.tsv"
    path.write_text("a\tb\tneutral\n", encoding="utf-8")
    assert next(iter(XnliReader(tokenizer=tokenizer).read(str(path))))["metadata"]["language"] is None


def test_equal_shards_keep_whole_rounds_of_rows_and_say_what_they_leave_out(caplog):
    """`equal_shards` (distributed training): rows in whole rounds of one per worker, so every
    worker gets as many; the remainder (here 2 of 11 rows for 3 workers) is left out with a warning,
    and fewer rows than workers is an error.
    The 2-worker training run that would otherwise deadlock is in tests/test_reliability.py."""
    from eapr_plugin.dataset_readers.eapr_reader import EaprReader

    rows = list(range(11))
    with caplog.at_level("WARNING"):
        kept = list(EaprReader._whole_rounds(iter(rows), 3, "train.tsv"))
    assert kept == rows[:9]
    assert [kept[rank::3] for rank in range(3)] == [[0, 3, 6], [1, 4, 7], [2, 5, 8]]
    assert "train.tsv: left out the last 2 row(s) so that each of the 3 distributed workers" in caplog.text
    caplog.clear()
    assert list(EaprReader._whole_rounds(iter(rows[:9]), 3, "train.tsv")) == rows[:9] and not caplog.text
    with pytest.raises(ConfigurationError, match="train.tsv: 2 row.s. for 3 distributed workers"):
        list(EaprReader._whole_rounds(iter(rows[:2]), 3, "train.tsv"))  # every worker would train on nothing
