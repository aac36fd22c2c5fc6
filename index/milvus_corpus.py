"""A corpus whose passages are searched on Milvus: for stateless replicas over shared engines.

The database (``index/store.py``; PostgreSQL across machines) stays the source of truth:
articles, passages, sentences and their vectors, the change log, and the corpus statistics
(``index/statistics.py``). Milvus holds the passage collection (``index/milvus.py``) and answers
the dense and the full-text searches. A replica holds no passage in memory: a ``MilvusView`` per
database generation, statistics read on demand, and a bounded cache of passage details by row
id (a row id names one version of one passage forever, so a cached entry never goes stale).

Commit order: **the database first, then Milvus.** A write commits the article and its change
log entry in one transaction, then puts the article's passages into Milvus, then records the
generation Milvus now holds (``milvus_generation`` in the database's meta table), all under the
database's writer lock. A crash, or Milvus failing, between the commit and the record leaves
the record behind the generation: whoever next takes the writer lock (the next write on any
replica, a replica's background round, or an opening replica) replays the change log from the
record to Milvus, putting each changed article as the database now holds it or removing it.
Each put is idempotent (upsert by row id, then delete the article's other rows), so a replay
that repeats a write is harmless.
"""

from __future__ import annotations

import logging
import math
import threading
import uuid
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa

from index import statistics
from index.corpus import Corpus, IndexConfig
from index.embed import Vectors
from index.engine import write_connection
from index.entities import EntityTagger
from index.lexical import TermCounts
from index.merge import MergePolicy
from index.milvus import MilvusCollection, MilvusError, MilvusRow
from index.models import Article, Passage, Where, published_day
from index.segment import ArticleRows
from index.snapshot import Candidates, Expansions, expand_acronyms, expansions_of
from index.statistics import ArticleStatistics
from index.store import (
    Database,
    StoredPassage,
    article_from_row,
    articles_table,
)
from index.text import tokenize

log = logging.getLogger(__name__)

Ids = npt.NDArray[np.int64]
WATERMARK = "milvus_generation"
STORE_ID = "store_id"
CACHE_PASSAGES = 100_000
SYNC_BATCH = 256  # articles read from the database and put into Milvus at a time


@dataclass(frozen=True)
class Detail:
    """A passage as answering reads it, cached by row id."""

    stored: StoredPassage
    sentence_terms: tuple[frozenset[str], ...]
    day: float
    frequencies: dict[str, int]  # of the indexed text's tokens (``Corpus._tokens``)
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


class MilvusCorpus(Corpus):
    """``Corpus`` with its passages searched on Milvus: the same writes, checks and reports;
    the database shared by every replica; no segments, checkpoint or merges here."""

    collection: MilvusCollection  # opened with the database, once its id is known

    def __init__(
        self,
        data_dir: Path | str,
        model_name: str,
        dimension: int,
        config: IndexConfig | None = None,
        *,
        milvus_uri: str,
        collection: str = "passages",
        database_url: str | None = None,
        refresh_seconds: float = 0.5,
        tagger: EntityTagger | None = None,
        query_model: str | None = None,
        milvus_token: str | None = None,
    ) -> None:
        self._milvus = (milvus_uri, collection, milvus_token)
        self._cache: PassageCache | None = None
        super().__init__(
            data_dir,
            model_name,
            dimension,
            config,
            refresh_seconds=refresh_seconds,
            merge_policy=MergePolicy(),
            tagger=tagger,
            query_model=query_model,
            database_url=database_url,
        )

    @property
    def cache(self) -> PassageCache:
        if self._cache is None:
            self._cache = PassageCache(self.db, self.dimension, self._tokens)
        return self._cache

    # -- opening and keeping up ----------------------------------------------------------------

    def _load(self, use_checkpoint: bool = True) -> MilvusView:  # type: ignore[override]
        """Fill in statistics a store from before them lacks, repair Milvus from the change log
        and return the view of the current generation (called with the writer locks held)."""
        if not hasattr(self, "collection"):
            uri, name, token = self._milvus
            self.collection = MilvusCollection(uri, name, self.dimension, self._store_id(), token)
        if not statistics.ready(self.db):
            self._backfill_statistics()
        self._sync()
        return self._view()

    def _store_id(self) -> str:
        """The database's own random id, made on first use (called with the writer locks)."""
        found = self.db.get_meta(STORE_ID)
        if found is None:
            found = uuid.uuid4().hex
            self.db.set_meta(STORE_ID, found)
        return found

    def _view(self) -> MilvusView:
        return MilvusView(self.db.generation, self.db, self.collection, self.cache, self.dimension)

    def _backfill_statistics(self) -> None:
        """Statistics for the articles a store from before them holds (no generation bump:
        the corpus does not change)."""
        with write_connection(self.db.engine) as conn, conn.begin():
            missing = statistics.missing(conn)
        for i in range(0, len(missing), 100):
            stored = self.db.load_articles(self.dimension, missing[i : i + 100])
            with write_connection(self.db.engine) as conn, conn.begin():
                for s in stored:
                    rows = self._stored_rows(s)
                    stats = ArticleStatistics.of(s.passages, rows.tokens, s.vectors)
                    statistics.add(conn, s.article.id, stats)
        with write_connection(self.db.engine) as conn, conn.begin():
            statistics.mark_ready(conn)

    @property
    def milvus_generation(self) -> int:
        """The last generation whose writes Milvus holds."""
        return int(self.db.get_meta(WATERMARK) or 0)

    def _sync(self) -> int:
        """Replay to Milvus the articles changed after the watermark, as the database holds
        them now, and move the watermark; returns how many were replayed. Call with the writer
        locks held."""
        since = self.milvus_generation
        with self.db.reading():
            generation = self.db.generation
            if since >= generation:
                return 0
            oldest = self.db.oldest_change()
            if since == 0 or oldest is None or oldest > since + 1:
                # The log does not reach back to the watermark: put every stored article.
                changed = [
                    s.article.id for s in self.db.load_articles(self.dimension, with_vectors=False)
                ]
                replace_all = True
            else:
                changed = self.db.changed_since(since)
                replace_all = False
        if replace_all and since == 0 and self.collection.count():
            log.info("Milvus holds passages of an unknown generation; putting every article")
        for i in range(0, len(changed), SYNC_BATCH):  # a batch of vectors in memory at a time
            chunk = changed[i : i + SYNC_BATCH]
            stored = {s.article.id: s for s in self.db.load_articles(self.dimension, chunk)}
            self.collection.put(
                {
                    a: self._milvus_rows(self._stored_rows(stored[a])) if a in stored else []
                    for a in chunk
                }
            )
        self.db.set_meta(WATERMARK, str(generation))
        if changed:
            log.info("Milvus brought up to generation %d (%d articles)", generation, len(changed))
        return len(changed)

    def _milvus_rows(self, rows: ArticleRows) -> list[MilvusRow]:
        article = rows.article
        dated = not math.isnan(published_day(article.published))
        day = (article.published or "")[:10] if dated else ""
        return [
            MilvusRow(
                rowid=int(rowid),
                article_id=article.id,
                text=self.config.indexed_text(article, passage),
                terms=" ".join(tokens),
                vector=vector,
                outlet=(article.outlet or "").casefold(),
                author=(article.author or "").casefold(),
                day=day,
            )
            for rowid, passage, vector, tokens in zip(
                rows.rowids, rows.passages, rows.vectors, rows.tokens, strict=True
            )
        ]

    def _publish(
        self, generation: int, changed: Sequence[str], rows: Sequence[ArticleRows]
    ) -> None:
        """Put the committed write into Milvus and move the watermark; a write before it that
        did not reach Milvus is replayed first."""
        try:
            if self.milvus_generation != generation - 1:
                self._sync()
            else:
                written = {r.article.id: r for r in rows}
                self.collection.put(
                    {a: self._milvus_rows(written[a]) if a in written else [] for a in changed}
                )
                self.db.set_meta(WATERMARK, str(generation))
        except MilvusError as exc:
            raise MilvusError(
                f"{exc}; the write is committed to the database and reaches Milvus when it "
                "answers again (the next write or any replica's background round puts it)"
            ) from exc
        finally:
            with self._swap_lock:
                self._snapshot = self._view()  # type: ignore[assignment]

    def refresh(self, wait: bool = True) -> bool:
        """Repair Milvus if a writer stopped between its commit and its Milvus put (skipped
        while a writer of this process is busy: it repairs first itself), then take a new view
        if the database moved on; returns whether it did either."""
        repaired = 0
        if self.milvus_generation < self.db.generation and (wait or not self._write_lock.locked()):
            with self._exclusive():
                repaired = self._sync()
        return super().refresh(wait) or repaired > 0

    def _catch_up(self) -> bool:
        """A new view when the database moved on."""
        if self.db.generation == self._snapshot.generation:
            return False
        with self._swap_lock:
            self._snapshot = self._view()  # type: ignore[assignment]
        return True

    def check_ready(self) -> dict[str, Any]:
        """Milvus answers: how many passages it holds, and how many generations of writes it
        still lacks (0 but for a write under way or one that awaits Milvus); raises
        ``MilvusError`` when it does not answer."""
        held = self.collection.count()
        return {
            "vector_store": "milvus",
            "milvus_passages": held,
            "milvus_behind": max(0, self.db.generation - self.milvus_generation),
        }

    def merge(self) -> bool:
        """Milvus merges its own segments."""
        return False

    def checkpoint(self) -> bool:
        """Nothing to save locally: Milvus and the database hold everything."""
        return False

    def _write_checkpoint(self, snapshot: Any) -> None:
        """No checkpoint on Milvus."""
        self._checkpointed = snapshot.generation

    def rebuild(self) -> Any:
        """Put every stored article into Milvus again (``qa reindex``)."""
        with self._exclusive():
            self.db.set_meta(WATERMARK, "0")
            self._sync()
            fresh = self._view()
            with self._swap_lock:
                self._snapshot = fresh  # type: ignore[assignment]
        return fresh

    def close(self) -> None:
        """Stop the background thread and close the database and Milvus connections."""
        try:
            super().close()
        finally:
            if hasattr(self, "collection"):
                self.collection.close()
