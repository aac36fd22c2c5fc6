"""The Milvus backend: passages searched on a Milvus collection (``index/milvus.py``) shared by
stateless replicas; answering reads a ``MilvusView`` per database generation
(``index/milvus_view.py``). No segments, checkpoint or merges here: Milvus and the database
hold everything.

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
import uuid
from collections.abc import Sequence
from typing import Any

from index import statistics
from index.backends.base import BackendContext, MilvusStore
from index.engine import write_connection
from index.milvus import MilvusCollection, MilvusError, MilvusRow
from index.milvus_view import MilvusView, PassageCache
from index.models import Article, Passage, published_day
from index.pipeline import passage_tokens, stored_rows
from index.segment import ArticleRows
from index.statistics import ArticleStatistics

log = logging.getLogger(__name__)

WATERMARK = "milvus_generation"
STORE_ID = "store_id"
SYNC_BATCH = 256  # articles read from the database and put into Milvus at a time


class MilvusBackend:
    """Passages on a Milvus collection (``Backend``). Opening fills in statistics a store from
    before them lacks and repairs Milvus from the change log (the factory holds the writer
    locks)."""

    def __init__(self, context: BackendContext, store: MilvusStore) -> None:
        self.context = context
        db = context.db
        self.cache = PassageCache(db, context.dimension, self._tokens)
        self.collection = MilvusCollection(
            store.uri, store.collection, context.dimension, self.store_id, store.token
        )
        try:
            if not statistics.ready(db):
                self._backfill_statistics()
            self._sync()
            self._view = self._make_view()
        except BaseException:
            self.collection.close()
            raise

    @property
    def view(self) -> MilvusView:
        """The view of the database generation last taken in."""
        return self._view

    @property
    def store_id(self) -> str:
        """The database's own random id, made on first use (with the writer locks held): the
        collection is checked to belong to it."""
        db = self.context.db
        found = db.get_meta(STORE_ID)
        if found is None:
            found = uuid.uuid4().hex
            db.set_meta(STORE_ID, found)
        return found

    @property
    def milvus_generation(self) -> int:
        """The last generation whose writes Milvus holds."""
        return int(self.context.db.get_meta(WATERMARK) or 0)

    def _tokens(self, article: Article, passage: Passage) -> list[str]:
        return passage_tokens(self.context.config, article, passage)

    def _make_view(self) -> MilvusView:
        c = self.context
        return MilvusView(c.db.generation, c.db, self.collection, self.cache, c.dimension)

    # -- keeping up --------------------------------------------------------------------------

    def catch_up(self) -> bool:
        """A new view when the database moved on."""
        if self.context.db.generation == self._view.generation:
            return False
        with self.context.locks.swap:
            self._view = self._make_view()
        return True

    def refresh(self) -> bool:
        """Repair Milvus if a writer stopped between its commit and its Milvus put, then take a
        new view if the database moved on; returns whether it did either."""
        repaired = 0
        db = self.context.db
        if self.milvus_generation < db.generation:
            with db.writer_lock():
                repaired = self._sync()
        return self.catch_up() or repaired > 0

    def publish(self, generation: int, changed: Sequence[str], rows: Sequence[ArticleRows]) -> None:
        """Put the committed write into Milvus and move the watermark; a write before it that
        did not reach Milvus is replayed first."""
        db = self.context.db
        try:
            if self.milvus_generation != generation - 1:
                self._sync()
            else:
                written = {r.article.id: r for r in rows}
                self.collection.put(
                    {a: self._milvus_rows(written[a]) if a in written else [] for a in changed}
                )
                db.set_meta(WATERMARK, str(generation))
        except MilvusError as exc:
            raise MilvusError(
                f"{exc}; the write is committed to the database and reaches Milvus when it "
                "answers again (the next write or any replica's background round puts it)"
            ) from exc
        finally:
            with self.context.locks.swap:
                self._view = self._make_view()

    def rebuild(self) -> MilvusView:
        """Put every stored article into Milvus again (``qa reindex``)."""
        self.context.db.set_meta(WATERMARK, "0")
        self._sync()
        fresh = self._make_view()
        with self.context.locks.swap:
            self._view = fresh
        return fresh

    def maintain(self) -> None:
        """Milvus merges its own segments and the database holds every write: a background
        round is the refresh alone."""

    def save(self) -> bool:
        """Nothing is kept in this process: Milvus and the database hold everything."""
        return False

    def check_ready(self) -> dict[str, Any]:
        """Milvus answers: how many passages it holds, and how many generations of writes it
        still lacks (0 but for a write under way or one that awaits Milvus); raises
        ``MilvusError`` when it does not answer."""
        held = self.collection.count()
        return {
            "vector_store": "milvus",
            "milvus_passages": held,
            "milvus_behind": max(0, self.context.db.generation - self.milvus_generation),
        }

    def close(self) -> None:
        """Close the Milvus connection."""
        self.collection.close()

    # -- Milvus from the database --------------------------------------------------------------

    def _backfill_statistics(self) -> None:
        """Statistics for the articles a store from before them holds (no generation bump:
        the corpus does not change)."""
        db, config = self.context.db, self.context.config
        with write_connection(db.engine) as conn, conn.begin():
            missing = statistics.missing(conn)
        for i in range(0, len(missing), 100):
            stored = db.load_articles(self.context.dimension, missing[i : i + 100])
            with write_connection(db.engine) as conn, conn.begin():
                for s in stored:
                    rows = stored_rows(config, s)
                    stats = ArticleStatistics.of(s.passages, rows.tokens, s.vectors)
                    statistics.add(conn, s.article.id, stats)
        with write_connection(db.engine) as conn, conn.begin():
            statistics.mark_ready(conn)

    def _sync(self) -> int:
        """Replay to Milvus the articles changed after the watermark, as the database holds
        them now, and move the watermark; returns how many were replayed. Call with the writer
        locks held."""
        db, dimension = self.context.db, self.context.dimension
        since = self.milvus_generation
        with db.reading():
            generation = db.generation
            if since >= generation:
                return 0
            oldest = db.oldest_change()
            if since == 0 or oldest is None or oldest > since + 1:
                # The log does not reach back to the watermark: put every stored article.
                changed = [s.article.id for s in db.load_articles(dimension, with_vectors=False)]
                replace_all = True
            else:
                changed = db.changed_since(since)
                replace_all = False
        if replace_all and since == 0 and self.collection.count():
            log.info("Milvus holds passages of an unknown generation; putting every article")
        for i in range(0, len(changed), SYNC_BATCH):  # a batch of vectors in memory at a time
            chunk = changed[i : i + SYNC_BATCH]
            stored = {s.article.id: s for s in db.load_articles(dimension, chunk)}
            self.collection.put(
                {
                    a: self._milvus_rows(stored_rows(self.context.config, stored[a]))
                    if a in stored
                    else []
                    for a in chunk
                }
            )
        db.set_meta(WATERMARK, str(generation))
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
                text=self.context.config.indexed_text(article, passage),
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
