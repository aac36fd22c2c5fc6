"""The segmented engine: a write costs what it adds, merges keep every result, and the state built
write by write equals the one a full rebuild from the database gives."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from index.corpus import MANIFEST_FILE, Corpus
from index.merge import MergePolicy
from index.models import Article
from index.snapshot import Snapshot
from index.text import tokenize
from qa.retrieve import Retriever
from tests.conftest import FIVE_ARTICLES
from tests.fakes import FakeEmbedder

TOPICS = ["harbour cranes", "rail strike", "wheat harvest", "central bank rates", "river flood"]
QUESTIONS = [
    "cranes in the harbour",
    "bank rates rise",
    "flooded river town",
    "harvest of wheat and rail",
    "volcano lava",
]


def news(i: int, version: int = 0) -> Article:
    topic = TOPICS[i % len(TOPICS)]
    return Article(
        id=f"a{i}",
        title=f"Report {i} on {topic}",
        text=f"Report {i} (version {version}) on the {topic}: officials counted {i * 7} cases "
        f"and expect more.\n\nLocal people said the {topic} changed their week number {i}.",
        outlet="Daily" if i % 2 else "Weekly",
    )


def results(corpus: Corpus, embedder: FakeEmbedder) -> tuple[list[list[str]], list[float]]:
    """Passage ids ranked for each question, and their scores (equal up to float rounding:
    sums over segments add in another order)."""
    retriever = Retriever(embedder)
    snapshot = corpus.snapshot
    ranked = [retriever.search(snapshot, retriever.encode(q), 8) for q in QUESTIONS]
    return [[h.passage.id for h in hits] for hits in ranked], [
        h.score for hits in ranked for h in hits
    ]


def state(corpus: Corpus) -> tuple[object, ...]:
    snapshot = corpus.snapshot
    return (
        snapshot.generation,
        snapshot.article_count,
        snapshot.passage_count,
        snapshot.sentence_count,
        list(snapshot.articles.items()),
        [p for _, p in snapshot.iter_passages()],
    )


def mean_direction(snapshot: Snapshot) -> np.ndarray:
    """The corpus centroid computed the long way: every live passage vector, summed."""
    positions = np.array([p for p, _ in snapshot.iter_passages()], dtype=np.int64)
    total = snapshot.vectors(positions).sum(axis=0, dtype=np.float64)
    return total / np.linalg.norm(total)


@pytest.mark.parametrize("merging", [False, True])
def test_writes_one_by_one_equal_a_full_rebuild(
    tmp_path: Path, embedder: FakeEmbedder, merging: bool
) -> None:
    policy = MergePolicy(factor=2, base=1) if merging else MergePolicy(factor=1000)
    corpus = Corpus(
        tmp_path, embedder.name, embedder.dimension, refresh_seconds=0, merge_policy=policy
    )
    corpus.add_articles(FIVE_ARTICLES, embedder)
    for i in range(30):
        corpus.add_articles([news(i)], embedder)
        if i % 4 == 3:
            corpus.add_articles([news(i - 2, version=1)], embedder)  # replaced
        if i % 5 == 4:
            corpus.delete_article(f"a{i - 1}")
        while merging and corpus.merge():
            pass
    corpus.delete_article("bees")
    if merging:
        assert len(corpus.snapshot.states) < 10
    else:
        assert len(corpus.snapshot.states) > 30
    incremental, (ranked, scores) = state(corpus), results(corpus, embedder)
    # The centroid, summed segment by segment less deleted rows, is the one of the live passages.
    centroid = corpus.snapshot.centroid
    assert centroid == pytest.approx(mean_direction(corpus.snapshot), abs=1e-5)
    corpus.close()  # writes a checkpoint
    restored = Corpus(tmp_path, embedder.name, embedder.dimension, refresh_seconds=0)
    assert state(restored) == incremental
    assert results(restored, embedder)[0] == ranked
    restored.close()
    (tmp_path / MANIFEST_FILE).unlink()  # no checkpoint: everything from the database
    rebuilt = Corpus(tmp_path, embedder.name, embedder.dimension, refresh_seconds=0)
    assert len(rebuilt.snapshot.states) == 1
    assert state(rebuilt) == incremental
    ranked_again, scores_again = results(rebuilt, embedder)
    assert ranked_again == ranked
    assert scores_again == pytest.approx(scores, abs=1e-5)
    assert rebuilt.snapshot.centroid == pytest.approx(centroid, abs=1e-5)
    rebuilt.close()
    rebuilt.close()


def test_a_write_reads_nothing_of_the_corpus_and_keeps_the_published_segments(
    corpus: Corpus, embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = corpus.snapshot

    def no_full_read(dimension: int, article_ids: object = None) -> object:
        raise AssertionError("a write must not read the whole corpus")

    monkeypatch.setattr(corpus.db, "load_articles", no_full_read)
    corpus.add_articles([news(1)], embedder)
    corpus.add_articles([replace(news(1), title="Report 1, corrected")], embedder)
    corpus.delete_article("chess")
    after = corpus.snapshot
    # The segments published before are shared as they are; only deletion marks are new.
    assert after.states[0].segment is before.states[0].segment
    assert before.states[0].live is None  # the snapshot readers held is untouched
    assert after.article_count == before.article_count  # one added, one deleted
    assert after.article("a1") is not None and after.article("chess") is None


def test_background_merges_keep_deletions_made_while_merging(
    tmp_path: Path, embedder: FakeEmbedder
) -> None:
    corpus = Corpus(
        tmp_path,
        embedder.name,
        embedder.dimension,
        refresh_seconds=0,
        merge_policy=MergePolicy(factor=2, base=1),
    )
    for i in range(4):
        corpus.add_articles([news(i)], embedder)

    class DeleteWhileMerging(MergePolicy):
        """Picks the segments, then deletes an article before the merged one is swapped in."""

        def pick(self, snapshot: Snapshot) -> tuple[int, int] | None:
            found = super().pick(snapshot)
            corpus.delete_article("a0")
            return found

    corpus.segments.merge_policy = DeleteWhileMerging(factor=2, base=1)
    assert corpus.merge()
    snapshot = corpus.snapshot
    assert snapshot.article("a0") is None
    assert snapshot.article_count == 3
    ids = [p.article_id for _, p in snapshot.iter_passages()]
    assert "a0" not in ids and len(ids) == snapshot.passage_count
    assert snapshot.lexical.size == 3
    assert snapshot.lexical.df("report") == 3
    corpus.close()


def test_filters_and_dense_search_skip_deleted_passages(
    corpus: Corpus, embedder: FakeEmbedder
) -> None:
    corpus.delete_article("volcano")
    snapshot = corpus.snapshot
    query = embedder.embed_query("volcano lava eruption")
    positions, _ = snapshot.dense_search(query, 10)
    assert len(positions) == 4
    assert all(snapshot.is_live(int(p)) for p in positions)
    assert len(snapshot.positions_of(["volcano"])) == 0
    allowed = snapshot.positions_of(["chess", "volcano"])
    found, _ = snapshot.dense_search(query, 10, allowed)
    assert [snapshot.passage(int(p)).article_id for p in found] == ["chess"]
    assert not snapshot.lexical.scores(tokenize("volcano lava"))[: snapshot.slots].any()
    np.testing.assert_array_equal(
        live_where(snapshot, lambda a: a.outlet == "Board Weekly"), allowed
    )


FILTERS = [
    {"outlet": "daily"},
    {"outlet": "WEEKLY"},
    {"outlet": "nowhere"},
    {"author": "lee"},
    {"author": "ANNA LEE"},
    {"published_from": "2024-03-01"},
    {"published_to": "2024-02-15"},
    {"published_from": "2024-02-01", "published_to": "2024-03-31"},
    {"article_ids": ["a3", "a4", "a9", "unknown"], "outlet": "daily"},
    {"article_ids": ["a0", "a2"]},
    {"author": "kim", "published_from": "2024-01-01"},
]


def live_where(snapshot: Snapshot, keep: Callable[[Article], bool]) -> np.ndarray:
    """The slots of every live article for which ``keep`` is true, one article at a time."""
    return snapshot.positions_of([a.id for a, _ in snapshot.iter_articles() if keep(a)])


def matches(article: Article, fields: dict[str, object]) -> bool:
    """The filter fields read one article at a time: the specification the columns follow."""
    ids = fields.get("article_ids")
    day = (article.published or "")[:10]
    checks = [
        ids is None or article.id in ids,  # type: ignore[operator]
        "outlet" not in fields
        or (article.outlet or "").casefold() == str(fields["outlet"]).casefold(),
        "author" not in fields
        or str(fields["author"]).casefold() in (article.author or "").casefold(),
        "published_from" not in fields or (day != "" and day >= str(fields["published_from"])),
        "published_to" not in fields or (day != "" and day <= str(fields["published_to"])),
    ]
    return all(checks)


def test_filters_compare_columns_and_equal_the_article_by_article_reading(
    tmp_path: Path, embedder: FakeEmbedder
) -> None:
    corpus = Corpus(tmp_path, embedder.name, embedder.dimension, refresh_seconds=0)
    authors = [None, "Anna Lee", "Kim Park", "Lee Kim"]
    for batch in range(3):  # three segments
        articles = [
            replace(
                news(i),
                author=authors[i % 4],
                published=None if i % 5 == 0 else f"2024-0{1 + i % 4}-1{i % 10}",
            )
            for i in range(batch * 5, batch * 5 + 5)
        ]
        corpus.add_articles(articles, embedder)
    corpus.delete_article("a4")
    corpus.delete_article("a7")
    snapshot = corpus.snapshot
    assert len(snapshot.states) == 3
    for fields in FILTERS:
        found = snapshot.positions_matching(**fields)  # type: ignore[arg-type]
        expected = live_where(snapshot, lambda a, f=fields: matches(a, f))  # type: ignore[misc]
        np.testing.assert_array_equal(found, expected, err_msg=str(fields))
        assert all(snapshot.is_live(int(p)) for p in found)
    assert len(snapshot.positions_matching(author="lee")) > 0
    assert len(snapshot.positions_matching(published_to="2024-02-15")) > 0
    corpus.close()
