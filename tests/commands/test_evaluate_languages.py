from allennlp.data.tokenizers import PretrainedTransformerTokenizer

from eapr_plugin.commands.evaluate_languages import by_length
from eapr_plugin.dataset_readers.xnli import XnliReader


def test_by_length_is_a_permutation_into_length_sorted_batches(tiny_encoders, nli_files):
    reader = XnliReader(tokenizer=PretrainedTransformerTokenizer(tiny_encoders["tiny-bert"], max_length=64))
    instances = list(reader.read(nli_files["de"]))
    lengths = {id(instance): len(instance["tokens"]) for instance in instances}
    assert len(set(lengths.values())) > 3, "the fixture needs varied lengths for this test to mean anything"

    ordered = by_length(instances, batch_size=4)

    assert sorted(map(id, ordered)) == sorted(map(id, instances))  # nothing dropped or repeated
    assert [lengths[id(i)] for i in ordered] == sorted(lengths[id(i)] for i in instances)
    assert by_length(instances, batch_size=4) == ordered  # deterministic: no noise, no shuffle


# ----- nothing is scored that should not be -------------------------------------------------------
import gzip  # noqa: E402

import pytest  # noqa: E402
from allennlp.common.checks import ConfigurationError  # noqa: E402
from allennlp.data import Vocabulary  # noqa: E402

from eapr_plugin.commands.archives import check_archive  # noqa: E402
from eapr_plugin.commands.evaluate_languages import by_language, check_gold_labels, expand_inputs  # noqa: E402


def test_inputs_carry_the_language_the_user_names(tmp_path):
    path = tmp_path / "premises.tsv"
    path.write_text("a\tb\tneutral\n", encoding="utf-8")
    assert expand_inputs([str(path)]) == [(str(path), None)]
    assert expand_inputs([f"sw={path}"]) == [(str(path), "sw")]
    assert expand_inputs(["hf:facebook/xnli:{lang}:test"], ["de", "sw"]) == [
        ("hf:facebook/xnli:de:test", "de"), ("hf:facebook/xnli:sw:test", "sw")]
    with pytest.raises(ConfigurationError, match=r"unknown language code 'german' \(setting `--languages`\)"):
        expand_inputs(["hf:facebook/xnli:{lang}:test"], ["de", "german"])
    with pytest.raises(ConfigurationError, match=r"unknown language code 'swahili' \(setting `LANG=INPUT"):
        expand_inputs([f"swahili={path}"])


def test_a_file_of_unknown_language_is_refused_and_a_mixed_file_split(tiny_encoders, tmp_path):
    reader = XnliReader(tokenizer=PretrainedTransformerTokenizer(tiny_encoders["tiny-bert"], max_length=16))
    path = tmp_path / "premises.tsv"
    path.write_text("a\tb\tneutral\n", encoding="utf-8")
    instances = list(reader.read(str(path)))
    with pytest.raises(ConfigurationError, match=r"premises.tsv: cannot tell its language.*LANG="):
        by_language(instances, str(path), None)
    assert list(by_language(instances, str(path), "de")) == ["de"]
    mixed = tmp_path / "xnli.test.tsv"
    mixed.write_text("language\tgold_label\tsentence1\tsentence2\tpairID\nde\tneutral\tA\tB\t1\n"
                     "fr\tneutral\tC\tD\t1\nde\tneutral\tE\tF\t2\n", encoding="utf-8")
    groups = by_language(list(reader.read(str(mixed))), str(mixed), None)
    assert {language: len(group) for language, group in groups.items()} == {"de": 2, "fr": 1}


def test_rows_without_gold_labels_or_with_unknown_ones_are_refused(tiny_encoders, tmp_path):
    reader = XnliReader(tokenizer=PretrainedTransformerTokenizer(tiny_encoders["tiny-bert"], max_length=16))
    vocab = Vocabulary()
    vocab.add_tokens_to_namespace(["neutral", "entailment"], "labels")
    test = tmp_path / "test-de.tsv"
    test.write_text("a\tb\nc\td\n", encoding="utf-8")  # XTREME test files have no label column
    with pytest.raises(ConfigurationError, match=r"2 of 2 rows carry no gold label .*test-de.tsv:1.*allennlp predict"):
        check_gold_labels(list(reader.read(str(test))), str(test), vocab, "labels")
    dev = tmp_path / "dev-de.tsv"
    dev.write_text("a\tb\tneutral\nc\td\tcontradiction\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"dev-de.tsv:2: gold label 'contradiction' is not one the model"):
        check_gold_labels(list(reader.read(str(dev))), str(dev), vocab, "labels")


def test_an_empty_or_truncated_archive_is_named_incomplete(tmp_path):
    empty = tmp_path / "run" / "model.tar.gz"
    empty.parent.mkdir()
    empty.write_bytes(b"")
    with pytest.raises(ConfigurationError, match=r"model.tar.gz is incomplete \(0 bytes.*--recover"):
        check_archive(str(empty))
    truncated = tmp_path / "model.tar.gz"
    truncated.write_bytes(gzip.compress(b"x" * 100000)[:200])
    with pytest.raises(ConfigurationError, match="is incomplete"):
        check_archive(str(truncated))


# ----- an unfinished run's archive ----------------------------------------------------------------
import json  # noqa: E402

from eapr_plugin.commands.evaluate_languages import run_title  # noqa: E402
from eapr_plugin.models.archival import RUN_RECORD, RUN_STATUS, check_finished  # noqa: E402
from tests.support.archives import write_archive  # noqa: E402


def test_an_archive_says_whether_its_run_finished(tmp_path):
    def archive(folder, config, files):
        return write_archive(tmp_path / folder / "model.tar.gz", config, files)

    listed = {"include_in_archive": ["encoder", RUN_STATUS, RUN_RECORD]}
    status = {"finished": True, "stopped_by": None, "epochs_completed": 2, "num_epochs": 2, "optimizer_steps": 10}
    curve = '{"epoch": 0, "validation_accuracy": 0.5}\n{"epoch": 1, "validation_accuracy": 0.75}\n'
    finished = archive("finished", listed, {RUN_STATUS: json.dumps(status), RUN_RECORD: curve})
    assert check_finished(finished) == {**status, "dev_curve": [0.5, 0.75]}
    assert check_finished(archive("other", {}, {})) is None  # no status configured: nothing to say
    # the config lists the status, the archive lacks it, and no run folder is beside it: AllenNLP's
    # archive of an interrupted run, moved elsewhere
    moved = archive("moved", listed, {})
    with pytest.raises(ConfigurationError, match=r"moved/model.tar.gz holds an unfinished run: training was "
                                                 r"stopped before its last epoch.*--recover.*--allow-unfinished"):
        check_finished(moved)
    with pytest.raises(ConfigurationError) as refused:  # the benchmarks, which have no such option
        check_finished(moved, escape=None)
    assert "--recover" in str(refused.value) and "--allow-unfinished" not in str(refused.value)
    run = check_finished(moved, allow_unfinished=True)
    assert run["finished"] is False and run["archive_lacks"] == ["encoder", RUN_STATUS, RUN_RECORD]
    assert run_title(moved, run) == "moved (UNFINISHED)"
    stopped = {**status, "finished": False, "stopped_by": "KeyboardInterrupt", "epochs_completed": 1}
    with pytest.raises(ConfigurationError, match=r"stopped by KeyboardInterrupt after 1 of 2 epochs \(10 optimizer"):
        check_finished(archive("stopped", listed, {RUN_STATUS: json.dumps(stopped)}))
