"""BM25 over passages, with the project's tokenizer."""

from __future__ import annotations

from index.lexical import LexicalIndex
from index.text import tokenize

TEXTS = ["The cat sat on the mat.", "Dogs chase cats in the park.", "A bird sang at dawn."]


def test_scores_rank_texts_sharing_rare_words() -> None:
    scores = LexicalIndex(TEXTS).scores(tokenize("Which cat sat on a mat?"))
    assert scores.argmax() == 0
    assert scores[2] == 0


def test_stemming_matches_word_forms() -> None:
    scores = LexicalIndex(TEXTS).scores(tokenize("chasing dog"))
    assert scores.argmax() == 1


def test_unknown_words_and_empty_index() -> None:
    index = LexicalIndex(TEXTS)
    assert not index.scores(tokenize("zebra")).any()
    assert index.known("cat") and not index.known("zebra")
    assert index.idf("zebra") == 0.0
    assert index.idf("bird") > 0
    assert LexicalIndex([]).scores(["cat"]).shape == (0,)


def test_coverage_is_the_share_of_idf_mass_the_texts_hold() -> None:
    index = LexicalIndex([*TEXTS, "The cat slept.", "A cat and a bird."])
    assert index.coverage(tokenize("cat bird")) == 1.0
    assert index.coverage(tokenize("zebra okapi")) == 0.0
    assert index.coverage([]) == 0.0
    with_rare = index.coverage(tokenize("dawn zebra"))
    with_common = index.coverage(tokenize("cat zebra"))
    assert 0.0 < with_common < with_rare < 1.0
