"""Storage of articles, passages, sentences and their vectors: the source of truth.

Any SQLAlchemy URL: a SQLite file (the default, in the data directory; shared by the processes
of one machine) or PostgreSQL (shared by machines). The schema is Alembic's
(``index/migrations``), brought up to date whenever a store opens.

The index's segment files are a derived copy of the passage vectors; if the two ever disagree
(a crash between the database commit and the checkpoint), the index is rebuilt from here.
"""

from __future__ import annotations

import fcntl
import json
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import sqlalchemy as sa
from sqlalchemy import Connection, RowMapping

from index.arrays import Vectors
from index.engine import open_engine, sqlite_file, sqlite_url, upgrade_schema, write_connection
from index.models import Article, Passage
from index.rows import (
    ARTICLE_FIELDS,
    PASSAGE_COLUMNS,
    StoredArticle,
    StoredPassage,
    article_from_row,
    articles_table,
    changes_table,
    content_hash,
    meta_table,
    passage_from_row,
    passages_table,
    sentences_table,
    upsert_meta,
    vectors_from_blobs,
)

__all__ = ["Database", "StoredArticle", "StoredPassage", "Transaction", "sqlite_url"]


MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "alembic_version_index"
# The PostgreSQL advisory lock writers of one database take turns on (an arbitrary constant).
_WRITER_LOCK_KEY = 0x51A_1DE7
_BATCH = 500  # ids per IN list


@dataclass(frozen=True)
class Transaction:
    """An open write transaction and the generation it will commit as."""

    conn: Connection
    generation: int


class Database:
    """Articles, passages and sentences with their vectors, in the database a URL names."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = open_engine(url)
        # The SQLite file, None on PostgreSQL (or for SQLite in memory).
        self.path: Path | None = sqlite_file(self.engine)
        # What SQLite writers of every process lock (``writer_lock``); None on PostgreSQL.
        self.lock_file = (
            None if self.path is None else self.path.with_name(self.path.name + ".lock")
        )
        # The connection of this thread's ``reading()``, while one is open.
        self._local = threading.local()
        try:
            with write_connection(self.engine) as conn, conn.begin():
                upgrade_schema(conn, MIGRATIONS, VERSION_TABLE)
        except BaseException:
            self.engine.dispose()
            raise

    def close(self) -> None:
        """Close every connection."""
        self.engine.dispose()

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        """The connection of this thread's ``reading()``, or a pooled one for one query."""
        conn: Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            yield conn
            return
        with self.engine.connect() as conn:
            yield conn

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """A write transaction that bumps the generation; all or nothing.

        The generation row is locked first (SQLite: ``BEGIN IMMEDIATE`` locks the file; PostgreSQL:
        ``SELECT ... FOR UPDATE``), so concurrent writers commit one after the other, each with
        its own generation.
        """
        with write_connection(self.engine) as conn, conn.begin():
            upsert_meta(conn, "generation", "0", replace=False)
            value = conn.execute(
                sa.select(meta_table.c.value)
                .where(meta_table.c.key == "generation")
                .with_for_update()
            ).scalar_one()
            generation = int(value) + 1
            yield Transaction(conn, generation)
            conn.execute(
                sa.update(meta_table)
                .where(meta_table.c.key == "generation")
                .values(value=str(generation))
            )

    @contextmanager
    def reading(self) -> Iterator[None]:
        """A read transaction on this thread's connection: every query inside it sees the same
        committed state, whatever writers commit meanwhile (SQLite: a WAL snapshot;
        PostgreSQL: a REPEATABLE READ transaction). Nested calls join the outer one."""
        if getattr(self._local, "conn", None) is not None:
            yield
            return
        with self.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
            with conn.begin():
                self._local.conn = conn
                try:
                    yield
                finally:
                    self._local.conn = None

    @contextmanager
    def writer_lock(self) -> Iterator[None]:
        """Hold the lock that writers of this database take turns on, across processes and
        machines: PostgreSQL's advisory lock (on a connection of its own, held until released),
        or an exclusive ``flock`` on a file beside the SQLite file."""
        if self.engine.dialect.name == "postgresql":
            with self.engine.connect() as conn:
                conn.execute(sa.select(sa.func.pg_advisory_lock(_WRITER_LOCK_KEY)))
                conn.commit()
                try:
                    yield
                finally:
                    conn.execute(sa.select(sa.func.pg_advisory_unlock(_WRITER_LOCK_KEY)))
                    conn.commit()
            return
        if self.lock_file is None:  # in memory: this process is the only one
            yield
            return
        with open(self.lock_file, "a+b") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def get_meta(self, key: str) -> str | None:
        """Return a metadata value, or None."""
        with self._read() as conn:
            value = conn.execute(
                sa.select(meta_table.c.value).where(meta_table.c.key == key)
            ).scalar_one_or_none()
        return None if value is None else str(value)

    def set_meta(self, key: str, value: str) -> None:
        """Set a metadata value (outside any generation bump)."""
        with write_connection(self.engine) as conn, conn.begin():
            upsert_meta(conn, key, value, replace=True)

    def settings(self) -> dict[str, str]:
        """The values higher layers stored with the index (``Corpus.store_setting``), by key."""
        with self._read() as conn:
            rows = conn.execute(
                sa.select(meta_table.c.key, meta_table.c.value).where(
                    meta_table.c.key.startswith("setting:")
                )
            )
            return {str(k).removeprefix("setting:"): str(v) for k, v in rows}

    @property
    def generation(self) -> int:
        """A counter bumped by every committed write."""
        return int(self.get_meta("generation") or 0)

    def counts(self) -> dict[str, int]:
        """Return the number of articles, passages and sentences stored."""
        with self._read() as conn:
            return {
                table.name: int(
                    conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
                )
                for table in (articles_table, passages_table, sentences_table)
            }

    def article_hash(self, article_id: str) -> str | None:
        """The stored content hash of one article, or None."""
        with self._read() as conn:
            value = conn.execute(
                sa.select(articles_table.c.content_hash).where(articles_table.c.id == article_id)
            ).scalar_one_or_none()
        return None if value is None else str(value)

    def article_hashes(self, article_ids: Iterable[str]) -> dict[str, str]:
        """Return ``{article_id: content_hash}`` for those of these articles that are stored."""
        ids = list(dict.fromkeys(article_ids))
        found: dict[str, str] = {}
        with self._read() as conn:
            for i in range(0, len(ids), _BATCH):
                rows = conn.execute(
                    sa.select(articles_table.c.id, articles_table.c.content_hash).where(
                        articles_table.c.id.in_(ids[i : i + _BATCH])
                    )
                )
                found.update((str(r.id), str(r.content_hash)) for r in rows)
        return found

    def log_change(self, txn: Transaction, article_id: str) -> None:
        """Record that the transaction adds, replaces or deletes this article."""
        txn.conn.execute(
            sa.insert(changes_table).values(generation=txn.generation, article_id=article_id)
        )

    def changed_since(self, generation: int) -> list[str]:
        """Ids of the articles written or deleted by generations after ``generation``."""
        with self._read() as conn:
            rows = conn.execute(
                sa.select(changes_table.c.article_id)
                .distinct()
                .where(changes_table.c.generation > generation)
            )
            return [str(r[0]) for r in rows]

    def oldest_change(self) -> int | None:
        """The first generation the change log still holds, or None when it is empty."""
        with self._read() as conn:
            value = conn.execute(sa.select(sa.func.min(changes_table.c.generation))).scalar_one()
        return None if value is None else int(value)

    def put_article(
        self,
        conn: Connection,
        article: Article,
        passages: Sequence[Passage],
        passage_vectors: Vectors,
        sentence_vectors: Sequence[Vectors],
    ) -> list[int]:
        """Insert or replace an article with its passages; returns the new passages' row ids.

        Must run inside ``transaction()`` (``conn`` is its ``Transaction.conn``).
        """
        conn.execute(sa.delete(articles_table).where(articles_table.c.id == article.id))
        conn.execute(
            sa.insert(articles_table).values(
                id=article.id,
                **{f: getattr(article, f) for f in ARTICLE_FIELDS},
                extra=json.dumps(article.extra, ensure_ascii=False),
                text=article.text,
                content_hash=content_hash(article),
            )
        )
        if not passages:
            return []
        rows = conn.execute(
            sa.insert(passages_table).returning(
                passages_table.c.rowid, sort_by_parameter_order=True
            ),
            [
                {
                    "id": passage.id,
                    "article_id": article.id,
                    "ordinal": passage.ordinal,
                    "start": passage.start,
                    "end": passage.end,
                    "vector": np.asarray(vector, dtype=np.float32).tobytes(),
                    "entities": json.dumps([[e.start, e.end, e.label] for e in passage.entities])
                    if passage.entities
                    else None,
                }
                for passage, vector in zip(passages, passage_vectors, strict=True)
            ],
        )
        rowids = [int(r[0]) for r in rows]
        sentence_rows = [
            {
                "passage_rowid": rowid,
                "start": s.start,
                "end": s.end,
                "vector": np.asarray(v, dtype=np.float32).tobytes(),
            }
            for rowid, passage, sent_vecs in zip(rowids, passages, sentence_vectors, strict=True)
            for s, v in zip(passage.sentences, sent_vecs, strict=True)
        ]
        if sentence_rows:
            conn.execute(sa.insert(sentences_table), sentence_rows)
        return rowids

    def delete_article(self, conn: Connection, article_id: str) -> bool:
        """Delete an article and (by cascade) its passages; returns whether it existed."""
        return (
            conn.execute(
                sa.delete(articles_table).where(articles_table.c.id == article_id)
            ).rowcount
            > 0
        )

    def get_article(self, article_id: str) -> Article | None:
        """Return the article with its full text, or None."""
        with self._read() as conn:
            row = (
                conn.execute(sa.select(articles_table).where(articles_table.c.id == article_id))
                .mappings()
                .first()
            )
        return None if row is None else article_from_row(row, with_text=True)

    def load_articles(
        self,
        dimension: int,
        article_ids: Sequence[str] | None = None,
        with_vectors: bool = True,
    ) -> list[StoredArticle]:
        """Read articles with their passages and vectors: all of them (ordered by their first
        passage's row id, the order they were written in) or just these ids (missing ones are
        left out). Without vectors, the vector arrays have no columns (an opener that has them
        in a checkpoint reads no vector). Call inside ``reading()`` to see one committed state."""
        if article_ids is not None and len(article_ids) > _BATCH:
            return [
                stored
                for i in range(0, len(article_ids), _BATCH)
                for stored in self.load_articles(
                    dimension, article_ids[i : i + _BATCH], with_vectors
                )
            ]
        if article_ids is not None and not article_ids:
            return []
        pvec = passages_table.c.vector if with_vectors else sa.null()
        svec = sentences_table.c.vector if with_vectors else sa.null()
        width = dimension if with_vectors else 0
        pquery = sa.select(*PASSAGE_COLUMNS, pvec.label("vector"))
        squery = sa.select(
            sentences_table.c.passage_rowid,
            sentences_table.c.start,
            sentences_table.c.end,
            svec.label("vector"),
        ).join(passages_table, passages_table.c.rowid == sentences_table.c.passage_rowid)
        aquery = sa.select(articles_table)
        if article_ids is not None:
            pquery = pquery.where(passages_table.c.article_id.in_(article_ids))
            squery = squery.where(passages_table.c.article_id.in_(article_ids))
            aquery = aquery.where(articles_table.c.id.in_(article_ids))
        with self._read() as conn:
            prow = conn.execute(pquery.order_by(passages_table.c.rowid)).mappings().all()
            srow = (
                conn.execute(
                    squery.order_by(sentences_table.c.passage_rowid, sentences_table.c.rowid)
                )
                .mappings()
                .all()
            )
            found = {
                str(r["id"]): article_from_row(r, with_text=True)
                for r in conn.execute(aquery).mappings()
            }
        by_passage: dict[int, list[RowMapping]] = {}
        for r in srow:
            by_passage.setdefault(r["passage_rowid"], []).append(r)
        grouped: dict[str, list[RowMapping]] = {}
        for r in prow:
            grouped.setdefault(r["article_id"], []).append(r)
        out = []
        for article_id, rows in grouped.items():
            article = found[article_id]
            sents = [by_passage.get(r["rowid"], []) for r in rows]
            out.append(
                StoredArticle(
                    article=article,
                    rowids=[int(r["rowid"]) for r in rows],
                    passages=[
                        passage_from_row(r, s, article.text)
                        for r, s in zip(rows, sents, strict=True)
                    ],
                    vectors=vectors_from_blobs([r["vector"] for r in rows], width),
                    sentence_vectors=[
                        vectors_from_blobs([s["vector"] for s in ss], width) for ss in sents
                    ],
                )
            )
        return out

    def load_passages(self, rowids: Sequence[int], dimension: int) -> dict[int, StoredPassage]:
        """Read passages by row id with their article's metadata and their vectors, in the order
        asked; missing row ids are left out. Call inside ``reading()`` to see one committed
        state."""
        wanted = list(dict.fromkeys(int(r) for r in rowids))
        prows: dict[int, RowMapping] = {}
        by_passage: dict[int, list[RowMapping]] = {}
        found: dict[str, Article] = {}
        with self._read() as conn:
            for i in range(0, len(wanted), _BATCH):
                chunk = wanted[i : i + _BATCH]
                for r in conn.execute(
                    sa.select(*PASSAGE_COLUMNS, passages_table.c.vector).where(
                        passages_table.c.rowid.in_(chunk)
                    )
                ).mappings():
                    prows[int(r["rowid"])] = r
                for r in conn.execute(
                    sa.select(
                        sentences_table.c.passage_rowid,
                        sentences_table.c.start,
                        sentences_table.c.end,
                        sentences_table.c.vector,
                    )
                    .where(sentences_table.c.passage_rowid.in_(chunk))
                    .order_by(sentences_table.c.passage_rowid, sentences_table.c.rowid)
                ).mappings():
                    by_passage.setdefault(int(r["passage_rowid"]), []).append(r)
            article_ids = sorted({str(r["article_id"]) for r in prows.values()})
            for i in range(0, len(article_ids), _BATCH):
                for r in conn.execute(
                    sa.select(articles_table).where(
                        articles_table.c.id.in_(article_ids[i : i + _BATCH])
                    )
                ).mappings():
                    found[str(r["id"])] = article_from_row(r, with_text=True)
        out = {}
        for rowid in wanted:
            row = prows.get(rowid)
            if row is None:
                continue
            article = found[str(row["article_id"])]
            sents = by_passage.get(rowid, [])
            out[rowid] = StoredPassage(
                rowid=rowid,
                article=replace(article, text=""),
                passage=passage_from_row(row, sents, article.text),
                vector=vectors_from_blobs([row["vector"]], dimension)[0],
                sentence_vectors=vectors_from_blobs([s["vector"] for s in sents], dimension),
            )
        return out
