"""Subword sampling against independent computations: the exact sampling distribution of a small
unigram lattice (enumerated here), WordPiece's own segmentation at dropout 0, and the reader's
encoding of sampled pieces."""
import itertools
import math
import random
from collections import Counter

import pytest
from allennlp.common.checks import ConfigurationError
from transformers import AutoTokenizer

from eapr_plugin.dataset_readers import Sib200Reader, XnliReader
from eapr_plugin.dataset_readers.sib200 import SIB200_HEADER
from eapr_plugin.perturbers import Chain, Perturber, PieceIds, SubwordSampling, SynonymPerturber


def test_registered():
    assert Perturber.by_name("subword_sampling") is SubwordSampling and Perturber.by_name("chain") is Chain


def test_wordpiece_at_dropout_zero_is_the_tokenizer_and_sampling_keeps_the_words(tiny_encoders):
    tokenizer = AutoTokenizer.from_pretrained(tiny_encoders["tiny-bert"])
    sentence = "The children play in the old garden ."
    exact = SubwordSampling(tiny_encoders["tiny-bert"], dropout=0.0).perturb(sentence, random.Random(0))
    assert list(exact) == tokenizer.encode(sentence, add_special_tokens=False)
    sampler = SubwordSampling(tiny_encoders["tiny-bert"], dropout=0.5)
    copies = {tuple(sampler.perturb(sentence, random.Random(seed))) for seed in range(30)}
    assert len(copies) > 1  # some segmentations differ
    for copy in copies:
        assert tokenizer.decode(list(copy)).replace(" ", "") == sentence.replace(" ", "")  # same text
    assert sampler.perturb(sentence, random.Random(3)) == sampler.perturb(sentence, random.Random(3))


def segmentations(word, vocab):
    """Every segmentation of `word` into vocabulary pieces (independent brute force)."""
    for cuts in itertools.product([0, 1], repeat=len(word) - 1):
        pieces, start = [], 0
        for index, cut in enumerate(cuts, start=1):
            if cut:
                pieces.append(word[start:index])
                start = index
        pieces.append(word[start:])
        if all(piece in vocab for piece in pieces):
            yield tuple(pieces)


def test_unigram_sampling_follows_exp_alpha_score_over_the_lattice(tiny_encoders):
    sampler = SubwordSampling(tiny_encoders["tiny-xlmr"], alpha=0.5)
    scores = {piece: score for piece, (_, score) in sampler._scores.items()}
    word = max(sampler.words("children gentleman kitten"), key=lambda w: len(list(segmentations(w, scores))))
    options = list(segmentations(word, scores))
    assert len(options) >= 3, "the fixture vocabulary needs a word with several segmentations"
    weights = {option: math.exp(0.5 * sum(scores[p] for p in option)) for option in options}
    total = sum(weights.values())
    rng = random.Random(0)
    draws = Counter(tuple(sampler._scores_piece(i) for i in sampler._sample_unigram(word, rng)) for _ in range(4000))
    for option, weight in weights.items():
        assert draws[option] / 4000 == pytest.approx(weight / total, abs=0.03), option
    # a large alpha gives the best segmentation, which is the tokenizer's own
    tokenizer = AutoTokenizer.from_pretrained(tiny_encoders["tiny-xlmr"])
    best = SubwordSampling(tiny_encoders["tiny-xlmr"], alpha=200.0).perturb("The children play .", random.Random(0))
    assert list(best) == tokenizer.encode("The children play .", add_special_tokens=False)


def test_the_reader_encodes_sampled_pieces_like_text(tiny_encoders, nli_files, synonym_table, tmp_path):
    from allennlp.data.tokenizers import PretrainedTransformerTokenizer

    tokenizer = PretrainedTransformerTokenizer(tiny_encoders["tiny-xlmr"], max_length=24)
    sampler = SubwordSampling(tiny_encoders["tiny-xlmr"], alpha=0.1)
    instances = list(XnliReader(tokenizer=tokenizer, perturber=sampler, num_perturbations=2).read(nli_files["en"]))
    for instance in instances:
        original, perturbed = instance["tokens"].tokens, instance["perturbed_tokens"].tokens
        assert len(perturbed) <= 24 and perturbed[0].text == original[0].text == "<s>"
        assert perturbed[-1].text == "</s>" and sum(t.text == "</s>" for t in perturbed) == sum(t.text == "</s>" for t in original)
    assert any([t.text for t in i["tokens"].tokens] != [t.text for t in i["perturbed_tokens"].tokens] for i in instances)
    assert isinstance(sampler.perturb("a b", random.Random(0)), PieceIds)
    # single sentences, and synonyms then sampling
    chain = Chain([SynonymPerturber(synonym_table), SubwordSampling(tiny_encoders["tiny-xlmr"])])
    (tmp_path / "eng_Latn").mkdir()
    (tmp_path / "eng_Latn" / "train.tsv").write_text(SIB200_HEADER + "\n1\tsports\tThe old cat sleeps .\n")
    sib = list(Sib200Reader(tokenizer=tokenizer, perturber=chain, num_perturbations=3).read(str(tmp_path / "eng_Latn" / "train.tsv")))
    assert len(sib) == 3 and all(i["perturbed_tokens"].tokens[0].text == "<s>" for i in sib)
    with pytest.raises(ConfigurationError, match="only the last may segment"):
        Chain([SubwordSampling(tiny_encoders["tiny-xlmr"]), SynonymPerturber(synonym_table)]).perturb("a b", random.Random(0))


def test_a_chain_keeps_shared_pair_swaps_and_otherwise_perturbs_a_pair_text_by_text(tiny_encoders, synonym_table):
    sampler = SubwordSampling(tiny_encoders["tiny-xlmr"], alpha=0.1)
    premise, hypothesis = "The old cat sleeps on the big bed .", "The cat sleeps ."
    paper = Chain([SynonymPerturber(synonym_table), sampler])
    shared_synonyms = SynonymPerturber(synonym_table, shared_pair_swaps=True)
    shared = Chain([shared_synonyms, sampler])
    assert not paper.joint_pairs and shared.joint_pairs
    for seed in range(10):
        # the paper's chain: the whole chain on the premise, then on the hypothesis
        rng, expected_rng = random.Random(seed), random.Random(seed)
        expected = (paper.perturb(premise, expected_rng), paper.perturb(hypothesis, expected_rng))
        assert paper.perturb_pair(premise, hypothesis, rng) == expected
        # shared swaps: synonyms on both texts first, then sampling on both
        rng, expected_rng = random.Random(seed), random.Random(seed)
        words = shared_synonyms.perturb_pair(premise, hypothesis, expected_rng)
        expected = (sampler.perturb(words[0], expected_rng), sampler.perturb(words[1], expected_rng))
        assert shared.perturb_pair(premise, hypothesis, rng) == expected
    with pytest.raises(ConfigurationError, match="only the last may segment"):
        Chain([sampler, shared_synonyms]).perturb_pair("a b", "b", random.Random(0))
