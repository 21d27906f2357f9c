"""Every input format of the readers, on small fixtures written here."""
import json

import datasets
import pytest
from allennlp.common.checks import ConfigurationError
from allennlp.data.tokenizers import PretrainedTransformerTokenizer

from eapr_plugin.dataset_readers import InvalidRowError, PawsxReader, Sib200Reader, XnliReader
from eapr_plugin.dataset_readers.hf_datasets import parse_hf_path


@pytest.fixture
def tokenizer(tiny_encoders):
    return PretrainedTransformerTokenizer(tiny_encoders["tiny-xlmr"], max_length=32)


def xnli_like_dataset():
    features = datasets.Features({
        "premise": datasets.Value("string"),
        "hypothesis": datasets.Value("string"),
        "label": datasets.ClassLabel(names=["entailment", "neutral", "contradiction"]),
    })
    return datasets.Dataset.from_dict({
        "premise": ["The cat sleeps .", "A man reads .", "Kids play ."],
        "hypothesis": ["An animal rests .", "Nobody reads .", "Children play ."],
        "label": [0, 2, 1],
    }, features=features)


def test_hf_disk_dataset_dict_with_class_labels(tokenizer, tmp_path):
    folder = tmp_path / "xnli_en"
    datasets.DatasetDict({"train": xnli_like_dataset(), "validation": xnli_like_dataset()}).save_to_disk(str(folder))
    instances = list(XnliReader(tokenizer=tokenizer, language="en").read(f"hf-disk:{folder}:train"))
    assert [i["label"].label for i in instances] == ["entailment", "contradiction", "neutral"]
    assert instances[0]["metadata"]["language"] == "en"
    with pytest.raises(ConfigurationError, match="name one as 'hf-disk:PATH:SPLIT'"):
        list(XnliReader(tokenizer=tokenizer).read(f"hf-disk:{folder}"))


def test_hf_hub_path_calls_load_dataset(tokenizer, monkeypatch):
    calls = []

    def fake_load_dataset(name, config, split):
        calls.append((name, config, split))
        return xnli_like_dataset()

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    reader = XnliReader(tokenizer=tokenizer, end=2)
    instances = list(reader.read("hf:facebook/xnli:de:test"))
    assert calls == [("facebook/xnli", "de", "test")]
    assert len(instances) == 2
    assert instances[0]["metadata"]["language"] == "de"


def test_hf_offline_failure_is_a_clear_error(tokenizer, monkeypatch):
    def offline(*args, **kwargs):
        raise ConnectionError("offline mode is enabled")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    with pytest.raises(ConfigurationError, match=r"hf:facebook/xnli:en:train.*cannot load the Hugging Face dataset"):
        list(XnliReader(tokenizer=tokenizer).read("hf:facebook/xnli:en:train"))


def test_hf_path_syntax():
    assert parse_hf_path("hf:facebook/xnli:en:train") == ("hub", "facebook/xnli", "en", "train")
    assert parse_hf_path("hf-disk:/data/x:test") == ("disk", "/data/x", None, "test")
    with pytest.raises(ConfigurationError, match="expected 'hf:NAME:CONFIG:SPLIT'"):
        parse_hf_path("hf:xnli")


def test_pawsx_and_sib200_from_hf(tokenizer, tmp_path):
    paws = datasets.Dataset.from_dict({
        "id": [11, 12], "sentence1": ["A b .", "C d ."], "sentence2": ["B a .", "D c ."], "label": [1, 0],
    })
    paws.save_to_disk(str(tmp_path / "paws"))
    instances = list(PawsxReader(tokenizer=tokenizer).read(f"hf-disk:{tmp_path / 'paws'}"))
    assert [(i["metadata"]["example_id"], i["label"].label) for i in instances] == [("11", "1"), ("12", "0")]
    sib = datasets.Dataset.from_dict({"index_id": [5], "category": ["sports"], "text": ["The team won ."]})
    sib.save_to_disk(str(tmp_path / "sib"))
    instance = next(iter(Sib200Reader(tokenizer=tokenizer, language="deu_Latn").read(f"hf-disk:{tmp_path / 'sib'}")))
    assert instance["label"].label == "sports" and instance["metadata"]["language"] == "deu_Latn"


XNLI10_HEADER = "language\tgold_label\tsentence1_binary_parse\tsentence2_binary_parse\tsentence1_parse\tsentence2_parse\tsentence1\tsentence2\tpromptID\tpairID\tgenre"


def xnli10_row(language, label, s1, s2, pair):
    return "\t".join([language, label, "(", "(", "(", "(", s1, s2, "1", str(pair), "fiction"])


def test_xnli10_tsv_with_language_column(tokenizer, tmp_path):
    path = tmp_path / "xnli.test.tsv"
    path.write_text("\n".join([
        XNLI10_HEADER,
        xnli10_row("de", "neutral", "Die Katze .", "Ein Tier .", 1),
        xnli10_row("fr", "entailment", "Le chat .", "Un animal .", 1),
        xnli10_row("de", "contradiction", "Der Hund .", "Keiner .", 2),
    ]) + "\n", encoding="utf-8")
    everything = list(XnliReader(tokenizer=tokenizer).read(str(path)))
    assert [i["metadata"]["language"] for i in everything] == ["de", "fr", "de"]
    german = list(XnliReader(tokenizer=tokenizer, language="de").read(str(path)))
    assert [i["label"].label for i in german] == ["neutral", "contradiction"]
    assert german[1]["metadata"]["example_id"] == "de:2"


def test_multinli_jsonl(tokenizer, tmp_path):
    path = tmp_path / "multinli_1.0_train.jsonl"
    rows = [
        {"gold_label": "neutral", "sentence1": "A man reads .", "sentence2": "He reads news .", "pairID": "7n"},
        {"gold_label": "-", "sentence1": "x", "sentence2": "y", "pairID": "8"},
        {"gold_label": "entailment", "sentence1": "Kids play .", "sentence2": "Children play .", "pairID": "9e"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    with pytest.raises(InvalidRowError, match=r"multinli_1.0_train.jsonl:2: gold_label '-'"):
        list(XnliReader(tokenizer=tokenizer).read(str(path)))
    reader = XnliReader(tokenizer=tokenizer, skip_invalid=True, max_skipped_share=0.5)
    instances = list(reader.read(str(path)))
    assert [i["metadata"]["example_id"] for i in instances] == ["7n", "9e"]
    assert reader.skipped_rows == 1
    assert instances[0]["metadata"]["language"] == "en"
    path.write_text('{"gold_label": "neutral"}\nnot json\n', encoding="utf-8")
    with pytest.raises(InvalidRowError, match=r":1: JSON object lacks \['sentence1', 'sentence2'\]"):
        list(XnliReader(tokenizer=tokenizer).read(str(path)))


def test_reader_shards_across_workers(tokenizer, nli_files, synonym_table):
    """Data-loader workers see disjoint shards that together are the whole file, same copies."""
    from allennlp.data.dataset_readers.dataset_reader import WorkerInfo
    from eapr_plugin.perturbers import SynonymPerturber

    def read(rank=None, world=None):
        reader = XnliReader(tokenizer=tokenizer, perturber=SynonymPerturber(synonym_table), num_perturbations=2)
        if rank is not None:
            reader._set_worker_info(WorkerInfo(world, rank))
        return {(i["metadata"]["example_id"], i["metadata"]["copy"]): i["metadata"]["perturbed_a"] for i in reader.read(nli_files["en"])}

    whole = read()
    first, second = read(0, 2), read(1, 2)
    assert first and second and not set(first) & set(second)
    assert {**first, **second} == whole
