"""BM25 over passages, with the project's tokenizer."""

from __future__ import annotations

import bm25s
import numpy as np

from index.lexical import Deletions, LexicalIndex, LexicalSegment, SegmentView
from index.text import tokenize

TEXTS = ["The cat sat on the mat.", "Dogs chase cats in the park.", "A bird sang at dawn."]


def test_scores_rank_texts_sharing_rare_words() -> None:
    scores = LexicalIndex.of_texts(TEXTS).scores(tokenize("Which cat sat on a mat?"))
    assert scores.argmax() == 0
    assert scores[2] == 0


def test_stemming_matches_word_forms() -> None:
    scores = LexicalIndex.of_texts(TEXTS).scores(tokenize("chasing dog"))
    assert scores.argmax() == 1


def test_unknown_words_and_empty_index() -> None:
    index = LexicalIndex.of_texts(TEXTS)
    assert not index.scores(tokenize("zebra")).any()
    assert index.known("cat") and not index.known("zebra")
    assert index.idf("zebra") == 0.0
    assert index.idf("bird") > 0
    assert LexicalIndex.of_texts([]).scores(["cat"]).shape == (0,)


def test_coverage_is_the_share_of_idf_mass_the_texts_hold() -> None:
    index = LexicalIndex.of_texts([*TEXTS, "The cat slept.", "A cat and a bird."])
    assert index.coverage(tokenize("cat bird")) == 1.0
    assert index.coverage(tokenize("zebra okapi")) == 0.0
    assert index.coverage([]) == 0.0
    with_rare = index.coverage(tokenize("dawn zebra"))
    with_common = index.coverage(tokenize("cat zebra"))
    assert 0.0 < with_common < with_rare < 1.0


CORPUS = [
    "Sourdough bread rises because wild yeast ferments the flour.",
    "The chess final ended in a draw after six hours of play.",
    "Bees exposed to pesticides forage less and lose their way home.",
    "The new rail line opened with twelve daily trains between the cities.",
    "Yeast and flour: the bread rises twice, the second rise is slower.",
    "Lava flowed toward the town; the volcano erupted on Monday.",
    "The chess federation changed the tie-break rules after the draw.",
]
QUERIES = ["bread yeast rises", "chess draw draw", "trains", "volcano lava town bread", "zebra"]


def bm25s_scores(texts: list[str], query: str) -> np.ndarray:
    """bm25s itself (Lucene variant) over the same tokens: the reference scores."""
    model = bm25s.BM25(k1=1.2, b=0.75, method="lucene")
    model.index([tokenize(t) for t in texts], show_progress=False)
    terms = [t for t in tokenize(query) if any(t in tokenize(x) for x in texts)]
    if not terms:
        return np.zeros(len(texts), dtype=np.float32)
    return np.asarray(model.get_scores(terms), dtype=np.float32)


def test_scores_equal_bm25s() -> None:
    index = LexicalIndex.of_texts(CORPUS)
    for query in QUERIES:
        np.testing.assert_allclose(
            index.scores(tokenize(query)), bm25s_scores(CORPUS, query), rtol=1e-5, atol=1e-6
        )


def test_segments_with_deletions_score_as_one_index_of_the_live_texts() -> None:
    first = LexicalSegment.build([tokenize(t) for t in CORPUS[:4]])
    second = LexicalSegment.build([tokenize(t) for t in CORPUS[4:]])
    dead = {1, 5}  # slot numbers across both segments
    live_first = np.array([i not in dead for i in range(4)])
    live_second = np.array([i + 4 not in dead for i in range(3)])
    views = [
        SegmentView(
            first, 0, live_first, Deletions().plus([tokenize(CORPUS[i]) for i in dead if i < 4])
        ),
        SegmentView(
            second, 4, live_second, Deletions().plus([tokenize(CORPUS[i]) for i in dead if i >= 4])
        ),
    ]
    index = LexicalIndex(views)
    live_texts = [t for i, t in enumerate(CORPUS) if i not in dead]
    live_slots = [i for i in range(len(CORPUS)) if i not in dead]
    assert index.size == len(live_texts)
    for query in QUERIES:
        scores = index.scores(tokenize(query))
        assert not scores[sorted(dead)].any()
        np.testing.assert_allclose(
            scores[live_slots], bm25s_scores(live_texts, query), rtol=1e-5, atol=1e-6
        )
    # Merging drops the dead texts and keeps every statistic.
    merged = LexicalSegment.merge([(first, live_first), (second, live_second)])
    alone = LexicalIndex([SegmentView(merged, 0, None, Deletions())])
    for query in QUERIES:
        np.testing.assert_allclose(
            alone.scores(tokenize(query)), index.scores(tokenize(query))[live_slots], rtol=1e-6
        )
        assert [alone.idf(t) for t in tokenize(query)] == [index.idf(t) for t in tokenize(query)]


def test_possessives_fold_into_the_noun() -> None:
    from index.text import tokenize

    # Straight or curly apostrophe, the possessive is the noun itself: "China's" finds "China".
    assert tokenize("China's envoy") == tokenize("China’s envoy") == tokenize("China envoy")
    assert tokenize("the workers' safety") == tokenize("the workers safety")
