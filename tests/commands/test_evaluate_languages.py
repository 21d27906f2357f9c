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
