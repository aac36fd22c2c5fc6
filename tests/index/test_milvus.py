"""The Milvus backend on a real ``milvus-lite server``: the same answers as the embedded index,
filters as expressions, and a write interrupted between the database and Milvus repaired."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from bench.harness import free_port
from index import statistics
from index.corpus import Corpus
from index.milvus import MilvusCollection, MilvusError, MilvusRow, expression
from index.milvus_corpus import MilvusCorpus
from index.models import Article, Where
from index.rows import meta_table
from index.sources import read_paths
from qa.models import Filters
from qa.retrieve import Retriever
from tests.conftest import FIVE_ARTICLES, SEED
from tests.fakes import FakeEmbedder
from tests.milvus_server import MilvusServer

QUESTIONS = [
    "What did the Chinese ambassador say about the attacks?",
    "Who protects Chinese workers in Pakistan?",
    "volcano lava town",
    "sourdough yeast",
    "CPEC",
    "China-Pakistan Economic Corridor",
    "rail line trains",
    "a question about nothing in the corpus zebra",
]


def seed_articles() -> list[Article]:
    found = [a for a in read_paths([SEED]) if isinstance(a, Article)]
    return [*found, *FIVE_ARTICLES]


@pytest.fixture
def embedder() -> FakeEmbedder:
    return FakeEmbedder()


def open_milvus(
    tmp_path: Path, server: MilvusServer, collection: str, name: str = "replica"
) -> MilvusCorpus:
    return MilvusCorpus(
        tmp_path / name,
        FakeEmbedder.name,
        FakeEmbedder.dimension,
        milvus_uri=server.uri,
        collection=collection,
        database_url=f"sqlite:///{tmp_path / 'shared.sqlite'}",
        refresh_seconds=0,
    )


@pytest.fixture
def both(
    tmp_path: Path, milvus_server: MilvusServer, milvus_collection: str, embedder: FakeEmbedder
) -> Iterator[tuple[Corpus, MilvusCorpus]]:
    faiss = Corpus(tmp_path / "faiss", embedder.name, embedder.dimension, refresh_seconds=0)
    milvus = open_milvus(tmp_path, milvus_server, milvus_collection)
    for corpus in (faiss, milvus):
        corpus.add_articles(seed_articles(), embedder)
    yield faiss, milvus
    faiss.close()
    milvus.collection.drop()
    milvus.close()


def same_ranking(
    faiss: Corpus, milvus: Corpus, retriever: Retriever, question: str, **kw: object
) -> None:
    """The same five passages in the same order, with the same cosines, BM25 scores and fused
    scores (float32 sums in another order: equal to 1e-5)."""
    encoded = retriever.encode(question)
    a = retriever.search(faiss.snapshot, encoded, 5, **kw)  # type: ignore[arg-type]
    b = retriever.search(milvus.snapshot, encoded, 5, **kw)  # type: ignore[arg-type]
    assert [h.passage.id for h in b] == [h.passage.id for h in a], question
    for x, y in zip(a, b, strict=True):
        assert y.dense == pytest.approx(x.dense, abs=1e-5)
        assert y.sentence == pytest.approx(x.sentence, abs=1e-5)
        assert y.lexical == pytest.approx(x.lexical, abs=1e-5)
        assert y.score == pytest.approx(x.score, abs=1e-5), question


@pytest.mark.parametrize("method", ["hybrid", "dense", "bm25"])
def test_both_backends_rank_the_same_passages_with_the_same_scores(
    both: tuple[Corpus, MilvusCorpus], embedder: FakeEmbedder, method: str
) -> None:
    faiss, milvus = both
    retriever = Retriever(embedder, method=method)  # type: ignore[arg-type]
    for question in QUESTIONS:
        same_ranking(faiss, milvus, retriever, question)


def test_both_backends_count_and_list_the_same_corpus(both: tuple[Corpus, MilvusCorpus]) -> None:
    faiss, milvus = both
    a, b = faiss.snapshot, milvus.snapshot
    assert (b.article_count, b.passage_count, b.sentence_count) == (
        a.article_count,
        a.passage_count,
        a.sentence_count,
    )
    assert list(b.iter_articles()) == list(a.iter_articles())
    assert b.article_page(2, 2) == a.article_page(2, 2)
    assert b.article("volcano") == a.article("volcano")
    assert milvus.collection.count() == a.passage_count
    np.testing.assert_allclose(b.centroid, a.centroid, atol=1e-5)
    assert b.with_acronyms(("cpec",)) == a.with_acronyms(("cpec",))
    assert b.lexical.coverage(["volcano", "zebra"]) == pytest.approx(
        a.lexical.coverage(["volcano", "zebra"])
    )


@pytest.mark.parametrize(
    "filters",
    [
        Filters(article_ids=frozenset({"volcano", "chess"})),
        Filters(source="nordic times"),
        Filters(author="lee"),
        Filters(published_from="2000-01-01"),
        Filters(published_to="2100-01-01", source="Board Weekly"),
    ],
)
def test_filters_become_milvus_expressions_with_the_same_results(
    both: tuple[Corpus, MilvusCorpus], embedder: FakeEmbedder, filters: Filters
) -> None:
    faiss, milvus = both
    retriever = Retriever(embedder)
    for question in QUESTIONS[:4]:
        same_ranking(faiss, milvus, retriever, question, filters=filters)


def test_a_filter_value_is_quoted_not_read_as_an_expression() -> None:
    where = Where(article_ids=frozenset({'a" or id > 0 or "'}), author="50%_\\")
    assert expression(where) == (
        'article_id in ["a\\" or id > 0 or \\""] and author like "%50___%"'
    )


def test_replacing_and_deleting_articles_leave_milvus_holding_what_the_database_holds(
    both: tuple[Corpus, MilvusCorpus], embedder: FakeEmbedder
) -> None:
    faiss, milvus = both
    changed = Article(
        id="chess", title="Chess final", text="The chess final was replayed on Sunday."
    )
    for corpus in (faiss, milvus):
        corpus.add_articles([changed], embedder)
        corpus.delete_article("bees")
    retriever = Retriever(embedder)
    for question in ["chess final Sunday", "bees pesticides"]:
        same_ranking(faiss, milvus, retriever, question)
    assert (
        milvus.collection.count() == faiss.snapshot.passage_count == milvus.snapshot.passage_count
    )
    assert milvus.milvus_generation == milvus.db.generation


class FailingCollection(MilvusCollection):
    """The real collection, whose next put fails as if the process died before it."""

    fail = True

    def put(self, articles: Mapping[str, Sequence[MilvusRow]]) -> None:
        if self.fail:
            raise MilvusError("stopped between the database commit and the Milvus put")
        super().put(articles)


def test_a_write_that_stopped_after_the_database_commit_is_repaired_from_the_change_log(
    tmp_path: Path, milvus_server: MilvusServer, milvus_collection: str, embedder: FakeEmbedder
) -> None:
    writer = open_milvus(tmp_path, milvus_server, milvus_collection, "writer")
    writer.add_articles(FIVE_ARTICLES[:2], embedder)
    owner = writer.milvus.store_id
    broken = FailingCollection(milvus_server.uri, milvus_collection, embedder.dimension, owner)
    writer.milvus.collection = broken
    late = Article(id="late", title="Late news", text="A comet was seen over the harbour at dawn.")
    with pytest.raises(MilvusError):
        writer.add_articles([late], embedder)
    # The database committed it (the source of truth); Milvus did not get it.
    assert writer.db.get_article("late") is not None
    assert writer.milvus_generation < writer.db.generation
    retriever = Retriever(embedder)
    # Another replica opening on the same stores repairs Milvus before it answers.
    other = open_milvus(tmp_path, milvus_server, milvus_collection, "other")
    assert other.milvus_generation == other.db.generation
    hits = retriever.search(other.snapshot, retriever.encode("comet harbour dawn"), 1)
    assert hits[0].article.id == "late"
    assert other.collection.count() == other.snapshot.passage_count
    broken.fail = False
    writer.close()
    other.collection.drop()
    other.close()


def test_a_write_while_milvus_is_down_fails_and_is_put_when_milvus_returns(
    tmp_path: Path, embedder: FakeEmbedder
) -> None:
    server = MilvusServer(tmp_path / "milvus-data", free_port())
    server.data_dir.mkdir()
    server.start()
    try:
        corpus = open_milvus(tmp_path, server, "down")
        corpus.add_articles(FIVE_ARTICLES[:1], embedder)
        assert corpus.check_ready()["milvus_behind"] == 0
        server.stop()
        with pytest.raises(MilvusError, match="committed to the database"):
            corpus.add_articles(FIVE_ARTICLES[1:2], embedder)
        assert corpus.db.get_article(FIVE_ARTICLES[1].id) is not None
        with pytest.raises(MilvusError):
            corpus.check_ready()  # readiness fails while Milvus does not answer
        server.start()
        assert corpus.check_ready()["milvus_behind"] == 1
        assert corpus.refresh()
        assert corpus.check_ready()["milvus_behind"] == 0
        assert corpus.milvus_generation == corpus.db.generation
        retriever = Retriever(embedder)
        hits = retriever.search(corpus.snapshot, retriever.encode("chess final draw"), 1)
        assert hits[0].article.id == "chess"
        corpus.close()
    finally:
        server.stop()


def test_a_collection_is_never_read_against_another_database(
    tmp_path: Path, milvus_server: MilvusServer, milvus_collection: str, embedder: FakeEmbedder
) -> None:
    first = open_milvus(tmp_path / "one", milvus_server, milvus_collection)
    first.add_articles(FIVE_ARTICLES[:1], embedder)
    # A new database has row ids of its own: the first database's collection must not serve it.
    with pytest.raises(MilvusError, match="another database"):
        open_milvus(tmp_path / "two", milvus_server, milvus_collection)
    first.collection.drop()
    first.close()


def test_a_store_from_before_the_statistics_gets_them_when_milvus_opens_it(
    tmp_path: Path, milvus_server: MilvusServer, milvus_collection: str, embedder: FakeEmbedder
) -> None:
    url = f"sqlite:///{tmp_path / 'shared.sqlite'}"
    old = Corpus(
        tmp_path / "old", embedder.name, embedder.dimension, refresh_seconds=0, database_url=url
    )
    old.add_articles(seed_articles(), embedder)
    expected = old.snapshot
    with old.db.engine.begin() as conn:  # as a store written before statistics were kept
        conn.execute(sa.delete(statistics.article_stats_table))
        conn.execute(sa.delete(statistics.term_counts_table))
        conn.execute(sa.delete(meta_table).where(meta_table.c.key.startswith("stat:")))
    generation = old.db.generation
    old.close()
    milvus = open_milvus(tmp_path, milvus_server, milvus_collection)
    view = milvus.snapshot
    assert milvus.db.generation == generation  # filling them in changed no article
    assert (view.article_count, view.passage_count, view.sentence_count) == (
        expected.article_count,
        expected.passage_count,
        expected.sentence_count,
    )
    terms = ["pakistan", "china", "volcano", "zebra"]
    assert [view.lexical.idf(t) for t in terms] == pytest.approx(
        [expected.lexical.idf(t) for t in terms]
    )
    np.testing.assert_allclose(view.centroid, expected.centroid, atol=1e-5)
    milvus.collection.drop()
    milvus.close()
