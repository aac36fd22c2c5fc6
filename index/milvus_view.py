"""What answering reads of a corpus searched on Milvus (``index/backends/milvus.py``): a
``MilvusView`` per database generation, statistics read from the database on demand
(``index/statistics.py``), and a bounded cache of passage details by row id (a row id names one
version of one passage forever, so a cached entry never goes stale)."""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa

from index import statistics
from index.acronyms import Expansions, expand_acronyms, expansions_of
from index.arrays import Ids, Vectors
from index.lexical import TermCounts
from index.milvus import MilvusCollection, like_is_loose
from index.models import Article, Passage, Where, published_day
from index.rows import StoredPassage, article_from_row, articles_table
from index.snapshot import Candidates
from index.store import Database
from index.text import tokenize

CACHE_PASSAGES = 100_000


@dataclass(frozen=True)
class Detail:
    """A passage as answering reads it, cached by row id."""

    stored: StoredPassage
    sentence_terms: tuple[frozenset[str], ...]
    day: float
    frequencies: dict[str, int]  # of the indexed text's tokens (``pipeline.passage_tokens``)
    length: int  # tokens in the indexed text


class PassageCache:
    """Passage details by row id, least recently used out first; missing ones read from the
    database in one query per batch."""

    def __init__(
        self,
        db: Database,
        dimension: int,
        tokens: Callable[[Article, Passage], Sequence[str]],
        size: int = CACHE_PASSAGES,
    ) -> None:
        self.db, self.dimension, self.size = db, dimension, size
        self._tokens = tokens
        self._items: OrderedDict[int, Detail] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, rowids: Sequence[int]) -> dict[int, Detail]:
        """The details of those of these passages the database still holds."""
        out: dict[int, Detail] = {}
        missing = []
        with self._lock:
            for rowid in rowids:
                found = self._items.get(rowid)
                if found is None:
                    missing.append(rowid)
                else:
                    self._items.move_to_end(rowid)
                    out[rowid] = found
        if not missing:
            return out
        loaded = self.db.load_passages(missing, self.dimension)
        fresh = {}
        for rowid, stored in loaded.items():
            words = self._tokens(stored.article, stored.passage)
            fresh[rowid] = Detail(
                stored,
                tuple(frozenset(tokenize(s.text)) for s in stored.passage.sentences),
                published_day(stored.article.published),
                dict(Counter(words)),
                len(words),
            )
        with self._lock:
            self._items.update(fresh)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        out.update(fresh)
        return out

    def one(self, rowid: int) -> Detail:
        """The details of one passage; raises ``KeyError`` when the database lacks it."""
        return self.get([rowid])[rowid]


class MilvusView:
    """The corpus at one database generation, searched on Milvus (``index.view.CorpusView``).

    Positions are passage row ids. The totals are read from the database when the view is made,
    document frequencies and acronyms on first use; all are kept for the view's lifetime (until
    the next generation)."""

    def __init__(
        self,
        generation: int,
        db: Database,
        collection: MilvusCollection,
        cache: PassageCache,
        dimension: int,
    ) -> None:
        self.generation = generation
        self.dimension = dimension
        self._db, self._collection, self._cache = db, collection, cache
        totals = statistics.totals(db)
        self.article_count = totals.articles
        self.passage_count = totals.passages
        self.sentence_count = totals.sentences
        self._vector_sum = totals.vector_sum
        self.lexical = TermCounts(
            self.passage_count,
            lambda terms: statistics.document_frequencies(db, terms),
            totals.tokens / totals.passages if totals.passages else 0.0,
        )

    @cached_property
    def centroid(self) -> Vectors:
        """The direction of the mean passage vector (zeros for an empty corpus)."""
        total = self._vector_sum
        if total is None:
            return np.zeros(self.dimension, dtype=np.float32)
        norm = float(np.linalg.norm(total))
        return (total / norm if norm > 0 else total).astype(np.float32)

    @cached_property
    def acronyms(self) -> dict[str, tuple[str, ...]]:
        """Acronym token → expansion tokens, as the stored articles define them."""
        return statistics.acronym_definitions(self._db)

    @cached_property
    def _expansions(self) -> Expansions:
        return expansions_of(self.acronyms)

    def with_acronyms(self, terms: Sequence[str]) -> tuple[str, ...]:
        """As ``Snapshot.with_acronyms``."""
        return expand_acronyms(terms, self.acronyms, self._expansions)

    # -- searching ---------------------------------------------------------------------------

    def candidates(
        self,
        vector: Vectors,
        text: str,
        terms: Sequence[str],
        pool: int,
        dense: bool = True,
        lexical: bool = True,
        where: Where | None = None,
    ) -> Candidates:
        """The ``pool`` best passages by cosine and by Milvus's BM25 over ``terms``, filtered
        on Milvus (two searches), with their cosines (those the dense search did not return
        computed here, from the passage vectors the details hold), best-sentence cosines and
        BM25 scores. Milvus's BM25 picks the lexical candidates; every candidate is then scored
        with the collection statistics the database keeps and its own term frequencies, so that
        each gets its BM25 (also one only the dense search found) on the embedded index's
        scale."""
        scores: dict[int, float] = {}
        bm25: dict[int, float] = {}
        if dense:
            ids, cosines = self._collection.dense(vector, pool, where)
            scores.update(zip(ids.tolist(), cosines.tolist(), strict=True))
        if lexical and terms:
            ids, found = self._collection.lexical(terms, pool, where)
            bm25.update((i, s) for i, s in zip(ids.tolist(), found.tolist(), strict=True) if s > 0)
        details = self._cache.get(sorted(set(scores) | set(bm25)))
        if where is not None and where.author is not None and like_is_loose(where.author):
            # The Milvus pattern matched more bylines than the filter names: keep the exact ones.
            author = where.author.casefold()
            details = {
                r: d
                for r, d in details.items()
                if author in (d.stored.article.author or "").casefold()
            }
            scores = {r: s for r, s in scores.items() if r in details}
            bm25 = {r: s for r, s in bm25.items() if r in details}
        for rowid in bm25.keys() - scores.keys():
            if rowid in details:
                scores[rowid] = float(details[rowid].stored.vector @ vector)
        # A passage Milvus still returned but the database no longer holds was deleted by a
        # write whose Milvus half is under way: it is not a candidate.
        rowids = np.asarray(sorted(details), dtype=np.int64)
        if not len(rowids):
            return Candidates.none()
        best = np.empty(len(rowids), dtype=np.float32)
        for i, rowid in enumerate(rowids.tolist()):
            best[i] = float((details[rowid].stored.sentence_vectors @ vector).max())
        texts = [(details[r].frequencies, details[r].length) for r in rowids.tolist()]
        return Candidates(
            rowids,
            np.asarray([scores[r] for r in rowids.tolist()], dtype=np.float32),
            best,
            self.lexical.score_texts(terms, texts),
        )

    # -- passages ----------------------------------------------------------------------------

    def passage(self, position: int) -> Passage:
        """The passage with this row id."""
        return self._cache.one(position).stored.passage

    def rowid(self, position: int) -> int:
        """Positions are row ids."""
        return position

    def article_of(self, position: int) -> Article:
        """The article (metadata only) of the passage with this row id."""
        return self._cache.one(position).stored.article

    def published_days(self, positions: Ids) -> npt.NDArray[np.float64]:
        """The publication day number of each passage's article (NaN when undated)."""
        found = self._cache.get(positions.tolist())
        return np.asarray([found[int(p)].day for p in positions], dtype=np.float64)

    def sentence_vectors(self, position: int) -> Vectors:
        """The passage's sentence vectors, one row per sentence."""
        return self._cache.one(position).stored.sentence_vectors

    def sentence_terms(self, position: int) -> tuple[frozenset[str], ...]:
        """The word sets of the passage's sentences."""
        return self._cache.one(position).sentence_terms

    # -- articles ----------------------------------------------------------------------------

    def _listing(self, query: Any) -> list[tuple[Article, int]]:
        stats = statistics.article_stats_table
        joined = query.join(stats, stats.c.article_id == articles_table.c.id)
        with self._db.engine.connect() as conn:
            rows = conn.execute(joined).mappings().all()
        return [(article_from_row(row, with_text=False), int(row["passages"])) for row in rows]

    def _select(self) -> Any:
        columns = [c for c in articles_table.c if c.name not in ("text", "content_hash")]
        return sa.select(*columns, statistics.article_stats_table.c.passages)

    def article(self, article_id: str) -> tuple[Article, int] | None:
        """An article's metadata and passage count, or None."""
        found = self._listing(self._select().where(articles_table.c.id == article_id))
        return found[0] if found else None

    def article_page(self, offset: int, limit: int) -> list[tuple[Article, int]]:
        """A page of the articles in id order."""
        if offset >= self.article_count:
            return []
        query = self._select().order_by(articles_table.c.id).offset(offset).limit(limit)
        return self._listing(query)

    def iter_articles(self) -> Iterator[tuple[Article, int]]:
        """Every article with its passage count, in id order, a page at a time."""
        offset = 0
        while True:
            page = self.article_page(offset, 500)
            if not page:
                return
            yield from page
            offset += len(page)

    def iter_passages(self) -> Iterator[tuple[int, Passage]]:
        """Every passage with its row id, article by article."""
        for article, _ in self.iter_articles():
            for stored in self._db.load_articles(self.dimension, [article.id], False):
                yield from zip(stored.rowids, stored.passages, strict=True)
