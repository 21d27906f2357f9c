import json
import random
from collections import Counter

import pytest
from allennlp.common.checks import ConfigurationError

from eapr_plugin.perturbers import Perturber, SynonymPerturber


@pytest.fixture
def table(tmp_path):
    path = tmp_path / "synonyms.json"
    path.write_text(json.dumps({
        "cat": ["kitten", "feline"],
        "big": ["large", "big", "large"],  # repeats itself and a neighbour: still a set
        "the": [],
        "dog": ["hound"],
    }))
    return str(path)


def test_registered_and_default(table):
    assert Perturber.by_name("synonym") is SynonymPerturber


def test_words_without_neighbours_are_untouched_and_word_count_kept(table):
    perturber = SynonymPerturber(table)
    sentence = "the  Cat saw a big dog ."  # double space, capitalised word, words not in the table
    for seed in range(50):
        out = perturber.perturb(sentence, random.Random(seed))
        words, original = out.split(" "), sentence.split(" ")
        assert len(words) == len(original)
        for new, old in zip(words, original):
            if old == "cat" or old == "big" or old == "dog":
                continue
            assert new == old  # "the" (empty list), "Cat" (exact-string lookup), "", "saw", "."
        assert words[6] in ("dog", "hound")
        assert words[5] in ("big", "large")


def test_draw_is_uniform_over_word_and_neighbours(table):
    perturber = SynonymPerturber(table)
    rng = random.Random(0)
    counts = Counter(perturber.perturb("cat", rng) for _ in range(3000))
    assert set(counts) == {"cat", "kitten", "feline"}
    for value in counts.values():
        assert abs(value / 3000 - 1 / 3) < 0.04
    counts = Counter(perturber.perturb("big", rng) for _ in range(3000))
    assert set(counts) == {"big", "large"}
    assert abs(counts["big"] / 3000 - 0.5) < 0.04


def test_hand_computed_case(table):
    perturber = SynonymPerturber(table)
    sentence = "cat and dog"
    rng = random.Random(42)
    expected_rng = random.Random(42)
    first = ["cat", "kitten", "feline"][expected_rng.randrange(3)]
    second = ["dog", "hound"][expected_rng.randrange(2)]
    assert perturber.perturb(sentence, rng) == f"{first} and {second}"


def test_same_seed_same_copy(table):
    perturber = SynonymPerturber(table)
    sentence = "cat big dog cat big dog cat"
    assert perturber.perturb(sentence, random.Random("7|x|0")) == perturber.perturb(
        sentence, random.Random("7|x|0")
    )
    outs = {perturber.perturb(sentence, random.Random(f"7|x|{k}")) for k in range(10)}
    assert len(outs) > 1


def test_pairs_are_perturbed_one_text_after_the_other_by_default(table):
    perturber = SynonymPerturber(table)
    premise, hypothesis = "the cat saw a big dog", "a cat and a dog"
    for seed in range(20):
        rng, expected_rng = random.Random(seed), random.Random(seed)
        expected = (perturber.perturb(premise, expected_rng), perturber.perturb(hypothesis, expected_rng))
        assert perturber.perturb_pair(premise, hypothesis, rng) == expected
        assert rng.random() == expected_rng.random()  # the same draws, in the same order


def test_shared_pair_swaps_reuse_the_first_texts_replacement_of_a_shared_word(table):
    shared = SynonymPerturber(table, shared_pair_swaps=True)
    premise, hypothesis = "cat saw a big dog and a cat", "a cat and a big big hound dog"
    seen = set()
    for seed in range(100):
        first, second = shared.perturb_pair(premise, hypothesis, random.Random(seed))
        # the premise is the paper's copy of it, drawn from the same generator
        assert first == SynonymPerturber(table).perturb(premise, random.Random(seed))
        replaced = dict(zip(premise.split(" "), first.split(" ")))  # a word's first occurrence wins ...
        replaced["cat"] = first.split(" ")[0]
        hyp, out = hypothesis.split(" "), second.split(" ")
        assert out[1] == replaced["cat"] and out[5] == out[4] == replaced["big"] and out[7] == replaced["dog"]
        assert out[6] == "hound" and out[0] == out[3] == "a"  # "hound" has no entry: kept
        seen.add((first.split(" ")[7], out[1]))  # the premise's second "cat" is drawn on its own
    assert any(a != b for a, b in seen)
    # a word only the second text has is drawn as usual: with nothing shared, the same as the paper's
    rng, expected_rng = random.Random(3), random.Random(3)
    assert shared.perturb_pair("a", "cat dog", rng) == SynonymPerturber(table).perturb_pair("a", "cat dog", expected_rng)


def test_shared_pair_swaps_leave_single_sentences_as_the_paper_perturbs_them(table):
    shared, paper = SynonymPerturber(table, shared_pair_swaps=True), SynonymPerturber(table)
    for seed in range(20):
        sentence = "cat big dog cat big dog cat"
        assert shared.perturb_pair(sentence, None, random.Random(seed)) == (paper.perturb(sentence, random.Random(seed)), None)


@pytest.mark.parametrize(
    "content, match",
    [
        ("{not json", "not a UTF-8 JSON"),
        ("[1, 2]", "must hold a JSON object"),
        ('{"cat": "kitten"}', "key 'cat' must be a list of strings"),
        ('{"cat": [1]}', "key 'cat' must be a list of strings"),
    ],
)
def test_malformed_table_is_a_clear_error(tmp_path, content, match):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ConfigurationError, match=match) as error:
        SynonymPerturber(str(path)).perturb("the cat", random.Random(0))
    assert str(path) in str(error.value)
    assert "perturber.table" in str(error.value)


def test_missing_table_is_a_clear_error_when_first_needed(tmp_path):
    perturber = SynonymPerturber(str(tmp_path / "nope.json"))  # inference builds it and never perturbs
    with pytest.raises(ConfigurationError, match="cannot open the synonym table"):
        perturber.perturb("the cat", random.Random(0))


def test_table_by_url_goes_through_cached_path(table, monkeypatch):
    import eapr_plugin.perturbers.synonym as module

    seen = []
    monkeypatch.setattr(module, "cached_path", lambda url: seen.append(url) or table)
    perturber = SynonymPerturber("https://example.org/counterfitted_neighbors.json")
    assert seen == []  # nothing fetched until a copy is made
    assert "cat" in perturber.neighbours
    assert seen == ["https://example.org/counterfitted_neighbors.json"]


def test_real_table_loads(shared_data):
    perturber = SynonymPerturber(str(shared_data / "counterfitted_neighbors.json"))
    assert len(perturber.neighbours) == 25591
    sentence = "The man is walking quickly to the big house ."
    out = perturber.perturb(sentence, random.Random(0))
    assert len(out.split(" ")) == len(sentence.split(" "))
