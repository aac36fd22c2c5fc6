"""Dense, BM25 and hybrid retrieval, and the per-article cap, on small corpora."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.corpus import Corpus, IndexConfig
from index.models import Article
from qa.extract import SentencePicker
from qa.retrieve import Retriever, article_ranking
from tests.fakes import FakeEmbedder


def test_each_method_finds_the_matching_article(corpus: Corpus, embedder: FakeEmbedder) -> None:
    retriever = Retriever(embedder)
    query = retriever.encode("wild yeast sourdough flour")
    for method in ("dense", "bm25", "hybrid"):
        hits = retriever.search(corpus.snapshot, query, 3, method=method)
        assert hits[0].article.id == "bread", method
    hybrid = retriever.search(corpus.snapshot, query, 3)
    top = hybrid[0]
    assert top.lexical is not None and top.lexical > 0
    # The passage is embedded with its title; its one sentence alone.
    title_and_text = embedder.embed_query(f"{top.article.title}. {top.passage.text}")
    assert top.dense == pytest.approx(float(title_and_text @ query.vector), abs=1e-5)
    sentence_only = embedder.embed_query(top.passage.text)
    assert top.sentence == pytest.approx(float(sentence_only @ query.vector), abs=1e-5)


def test_scores_descend_and_k_is_respected(corpus: Corpus, embedder: FakeEmbedder) -> None:
    retriever = Retriever(embedder)
    hits = retriever.search(corpus.snapshot, retriever.encode("chess final draw"), 4)
    assert len(hits) == 4
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert len({h.passage.id for h in hits}) == 4


def test_bm25_ignores_passages_without_query_words(corpus: Corpus, embedder: FakeEmbedder):
    retriever = Retriever(embedder, method="bm25")
    hits = retriever.search(corpus.snapshot, retriever.encode("pesticides"), 5)
    assert [h.article.id for h in hits] == ["bees"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "fuzzy"}, "method must be one of"),
        ({"dense_weight": 1.5}, "dense_weight must be between 0 and 1"),
        ({"candidates": 0}, "candidates must be at least 1"),
        ({"max_per_article": 0}, "max_per_article must be at least 1"),
        ({"sentence_weight": -1}, "sentence_weight must not be negative"),
        ({"recency_margin": -0.1}, "recency_margin must not be negative"),
    ],
)
def test_bad_settings_are_named(embedder: FakeEmbedder, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Retriever(embedder, **kwargs)


def test_per_article_cap_spreads_citations_and_relaxes(tmp_path: Path, embedder: FakeEmbedder):
    days = range(6)
    long_text = "\n\n".join(
        f"Harbour cranes stopped working on day {i} of the strike." for i in days
    )
    articles = [
        Article(id="long", title="Harbour strike", text=long_text),
        Article(id="other", title="Harbour cranes", text="The harbour cranes are new and tall."),
    ]
    config = IndexConfig(min_chars=0)  # keep each short paragraph its own passage
    corpus = Corpus(tmp_path / "d", embedder.name, embedder.dimension, config)
    corpus.add_articles(articles, embedder)
    query_text = "harbour cranes stopped strike"
    uncapped = Retriever(embedder)
    capped = Retriever(embedder, max_per_article=2)
    query = uncapped.encode(query_text)
    top3 = uncapped.search(corpus.snapshot, query, 3)
    assert [h.article.id for h in top3] == ["long", "long", "long"]
    top3_capped = capped.search(corpus.snapshot, query, 3)
    assert sorted(h.article.id for h in top3_capped) == ["long", "long", "other"]
    # With only two articles, the cap gives way rather than leave slots empty.
    assert len(capped.search(corpus.snapshot, query, 7)) == 7
    assert article_ranking(top3_capped)[0] == "long"
    corpus.close()


def test_bm25_part_of_hybrid_shrinks_with_unknown_question_words(
    corpus: Corpus, embedder: FakeEmbedder
) -> None:
    lexical_only = Retriever(embedder, dense_weight=0.0)
    snapshot = corpus.snapshot
    known = lexical_only.search(snapshot, lexical_only.encode("pesticides"), 1)[0]
    assert known.article.id == "bees" and known.score == pytest.approx(1.0)
    query = lexical_only.encode("pesticides zorblaxian")
    partly = lexical_only.search(snapshot, query, 1)[0]
    coverage = snapshot.lexical.coverage(query.terms)
    assert 0.0 < coverage < 1.0
    assert partly.article.id == "bees" and partly.score == pytest.approx(coverage)
    unscaled = Retriever(embedder, dense_weight=0.0, lexical_coverage=False)
    assert unscaled.search(snapshot, query, 1)[0].score == pytest.approx(1.0)


def _two_versions(tmp_path: Path, embedder: FakeEmbedder) -> Corpus:
    """A story reported twice (the update says "eleven" where the first report said "nine"),
    an undated copy of the first report, and an unrelated, newer article."""
    articles = [
        Article(
            id="strike-v1",
            title="Harbour strike",
            text="The harbour strike ended after nine days, the dockers' union said.",
            published="2025-04-07",
        ),
        Article(
            id="strike-v2",
            title="Harbour strike",
            text="The harbour strike ended after eleven days, the dockers' union said.",
            published="2025-04-15",
        ),
        Article(
            id="strike-undated",
            title="Harbour strike",
            text="The harbour strike ended after nine days, the dockers union said.",
        ),
        Article(
            id="ferry",
            title="Ferry timetable",
            text="The winter ferry timetable starts in November.",
            published="2025-09-01",
        ),
    ]
    corpus = Corpus(tmp_path / "d", embedder.name, embedder.dimension, IndexConfig(min_chars=0))
    corpus.add_articles(articles, embedder)
    return corpus


def test_a_newer_article_wins_a_near_tie_only(tmp_path: Path, embedder: FakeEmbedder) -> None:
    corpus = _two_versions(tmp_path, embedder)
    question = "after how many days did the harbour strike end, nine?"
    by_score = Retriever(embedder, max_per_article=1)
    query = by_score.encode(question)
    plain = [h.article.id for h in by_score.search(corpus.snapshot, query, 4)]
    assert plain.index("strike-v1") < plain.index("strike-v2")  # "nine" matches the first
    scores = {h.article.id: h.score for h in by_score.search(corpus.snapshot, query, 4)}
    gap = scores["strike-v1"] - scores["strike-v2"]
    assert gap > 0
    # Within the margin, the newer version goes first; the undated copy counts as oldest and
    # the newer but unrelated ferry article stays behind (far below the margin).
    wide = Retriever(embedder, max_per_article=1, recency_margin=gap + 0.01)
    assert scores["strike-undated"] == pytest.approx(scores["strike-v1"])
    ranked = [h.article.id for h in wide.search(corpus.snapshot, query, 4)]
    assert ranked == ["strike-v2", "strike-v1", "strike-undated", "ferry"]
    # A margin narrower than the gap leaves the score order.
    narrow = Retriever(embedder, max_per_article=1, recency_margin=gap / 2)
    assert [h.article.id for h in narrow.search(corpus.snapshot, query, 4)][:2] == plain[:2]
    corpus.close()


def test_the_picker_takes_the_newer_of_two_near_equal_sentences(
    tmp_path: Path, embedder: FakeEmbedder
) -> None:
    corpus = _two_versions(tmp_path, embedder)
    retriever = Retriever(embedder, max_per_article=1)
    query = retriever.encode("after how many days did the harbour strike end, nine?")
    hits = retriever.search(corpus.snapshot, query, 3)
    by_score = SentencePicker().pick(corpus.snapshot, query, hits)
    newer = SentencePicker(recency_margin=0.5).pick(corpus.snapshot, query, hits)
    assert by_score is not None and newer is not None
    assert hits[by_score.index].article.id == "strike-v1"
    assert hits[newer.index].article.id == "strike-v2"
    assert "eleven" in newer.sentence.text
    corpus.close()
