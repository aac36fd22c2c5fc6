"""The write path's steps, article by article: chunk → tag → embed (``prepare``, no lock held),
then rows in the database (``store_article``, in the writer's transaction) and the rows a
backend indexes (``article_rows``: metadata, passages, vectors and each passage's tokens)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from index import statistics
from index.arrays import Vectors
from index.config import IndexConfig
from index.embed import Embedder, embed_with_sentences
from index.entities import EntityTagger
from index.models import Article, Entity, Passage
from index.rows import StoredArticle
from index.segment import ArticleRows
from index.statistics import ArticleStatistics
from index.store import Database, Transaction
from index.text import tokenize


@dataclass
class IngestReport:
    """What an ingest did, article by article."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (source, reason)
    passages: int = 0

    def summary(self, done: str = "embedded") -> str:
        """One line: added, updated, unchanged, failed (and how many passages were ``done``)."""
        line = (
            f"added {len(self.added)}, updated {len(self.updated)}, "
            f"unchanged {len(self.unchanged)}, failed {len(self.failed)}"
        )
        return line + (f" ({self.passages} passages {done})" if self.passages else "")


@dataclass(frozen=True)
class Prepared:
    """An article ready to store: its passages, their vectors and their sentences' vectors."""

    article: Article
    passages: list[Passage]
    vectors: Vectors
    sentence_vectors: Sequence[Vectors]


def tagged(tagger: EntityTagger, passages: list[Passage]) -> list[Passage]:
    """The passages with their entities, offsets moved into the article text."""
    found = tagger.tag([p.text for p in passages])
    return [
        replace(p, entities=tuple(Entity(p.start + e.start, p.start + e.end, e.label) for e in es))
        for p, es in zip(passages, found, strict=True)
    ]


def prepare(
    articles: Sequence[Article],
    config: IndexConfig,
    embedder: Embedder,
    tagger: EntityTagger | None = None,
) -> list[Prepared]:
    """Chunk, tag and embed the articles (passages and sentences in one batch each)."""
    chunked = [(a, config.passages(a)) for a in articles]
    if tagger is not None:
        chunked = [(a, tagged(tagger, ps)) for a, ps in chunked]
    texts = [config.indexed_text(a, p) for a, ps in chunked for p in ps]
    # Sentence offsets within each indexed text (it may start with the title).
    spans = []
    for a, ps in chunked:
        for p in ps:
            shift = len(config.indexed_text(a, p)) - len(p.text) - p.start
            spans.append([(s.start + shift, s.end + shift) for s in p.sentences])
    passage_vecs, sentence_vecs = embed_with_sentences(embedder, texts, spans)
    prepared, cursor = [], 0
    for article, passages in chunked:
        n = len(passages)
        vectors = passage_vecs[cursor : cursor + n]
        prepared.append(Prepared(article, passages, vectors, sentence_vecs[cursor : cursor + n]))
        cursor += n
    return prepared


def passage_tokens(config: IndexConfig, article: Article, passage: Passage) -> list[str]:
    """The lexical index's tokens of a passage."""
    return tokenize(config.indexed_text(article, passage))


def article_rows(
    config: IndexConfig,
    article: Article,
    rowids: Sequence[int],
    passages: Sequence[Passage],
    vectors: Vectors,
    sentence_vectors: Sequence[Vectors],
) -> ArticleRows:
    """An article as a backend indexes it: metadata without text, and each passage's tokens."""
    meta = replace(article, text="")
    tokens = [passage_tokens(config, meta, p) for p in passages]
    return ArticleRows(meta, rowids, passages, vectors, sentence_vectors, tokens)


def stored_rows(config: IndexConfig, stored: StoredArticle) -> ArticleRows:
    """A stored article as a backend indexes it."""
    return article_rows(
        config,
        stored.article,
        stored.rowids,
        stored.passages,
        stored.vectors,
        stored.sentence_vectors,
    )


def store_article(
    db: Database, txn: Transaction, config: IndexConfig, item: Prepared
) -> ArticleRows:
    """Write one article in the transaction: its rows, its change-log entry and its statistics
    (the stored version's taken out first); returns it as a backend indexes it.

    The statistics are the store's, not a backend's: every backend's writes keep them in the
    same transaction as the rows, so that a store written by any process can be served by a
    Milvus replica (``index/milvus_view.py`` reads them) without a full recount."""
    statistics.remove(txn.conn, item.article.id)
    rowids = db.put_article(
        txn.conn, item.article, item.passages, item.vectors, item.sentence_vectors
    )
    db.log_change(txn, item.article.id)
    rows = article_rows(
        config, item.article, rowids, item.passages, item.vectors, item.sentence_vectors
    )
    stats = ArticleStatistics.of(item.passages, rows.tokens, item.vectors)
    statistics.add(txn.conn, item.article.id, stats)
    return rows
