"""SQLite storage of articles, passages, sentences and their vectors: the source of truth.

The FAISS file beside it is a derived copy of the passage vectors; if the two ever disagree (a crash
between the database commit and the index save), the index is rebuilt from here.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from index.models import Article, Entity, Passage, Span

Vectors = npt.NDArray[np.float32]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    author TEXT, outlet TEXT, section TEXT, standfirst TEXT, url TEXT, published TEXT,
    extra TEXT NOT NULL DEFAULT '{}',
    text TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    added_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE TABLE IF NOT EXISTS passages (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    vector BLOB NOT NULL,
    entities TEXT  -- JSON [[start, end, label], ...], offsets into the article text
);
CREATE INDEX IF NOT EXISTS passages_article ON passages(article_id);
CREATE TABLE IF NOT EXISTS sentences (
    rowid INTEGER PRIMARY KEY,
    passage_rowid INTEGER NOT NULL REFERENCES passages(rowid) ON DELETE CASCADE,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    vector BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS sentences_passage ON sentences(passage_rowid);
-- Which articles each committed generation added, replaced or deleted: how a process that did not
-- write brings its snapshot up to date by reading only what changed.
CREATE TABLE IF NOT EXISTS changes (
    generation INTEGER NOT NULL,
    article_id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS changes_generation ON changes(generation);
"""

_ARTICLE_FIELDS = ("title", "author", "outlet", "section", "standfirst", "url", "published")


def content_hash(article: Article) -> str:
    """Return a hash of everything about the article that ingestion depends on."""
    payload = json.dumps(
        [article.id, article.text, *(getattr(article, f) for f in _ARTICLE_FIELDS), article.extra],
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class StoredArticle:
    """An article as stored: its full text, its passages in row id order and their vectors."""

    article: Article
    rowids: list[int]
    passages: list[Passage]
    vectors: Vectors  # one row per passage
    sentence_vectors: list[Vectors]  # per passage, one row per sentence


@dataclass(frozen=True)
class Transaction:
    """An open write transaction and the generation it will commit as."""

    conn: sqlite3.Connection
    generation: int


class Database:
    """A SQLite file of articles, passages and sentences with their vectors."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # One connection writes (callers serialise writes); each reading thread has its own, so
        # that with WAL a reader sees the last committed state, never a write in progress.
        self._writer = self._connect()
        self._writer.execute("PRAGMA journal_mode=WAL")
        self._writer.executescript(_SCHEMA)
        self._migrate()
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()

    def _migrate(self) -> None:
        """Bring a store written by an earlier version up to this schema."""
        columns = {r["name"] for r in self._writer.execute("PRAGMA table_info(passages)")}
        if "entities" not in columns:
            # Passages stored before entities were tagged have none until re-ingested.
            self._writer.execute("ALTER TABLE passages ADD COLUMN entities TEXT")

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA busy_timeout=30000")
        # Deleted articles are overwritten on disk, not left readable in free pages.
        conn.execute("PRAGMA secure_delete=ON")
        return conn

    @property
    def _conn(self) -> sqlite3.Connection:
        """This thread's read connection."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
            with self._readers_lock:
                self._readers.append(conn)
        return conn

    def close(self) -> None:
        """Close every connection."""
        with self._readers_lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()
        self._writer.close()

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """A write transaction that bumps the generation; all or nothing."""
        self._writer.execute("BEGIN IMMEDIATE")
        try:
            row = self._writer.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
            generation = int(row[0]) + 1 if row is not None else 1
            yield Transaction(self._writer, generation)
            self._writer.execute(
                "INSERT INTO meta(key, value) VALUES('generation', ?) ON CONFLICT(key) "
                "DO UPDATE SET value = excluded.value",
                (str(generation),),
            )
            self._writer.execute("COMMIT")
        except BaseException:
            self._writer.execute("ROLLBACK")
            raise

    @contextmanager
    def reading(self) -> Iterator[None]:
        """A read transaction on this thread's connection: every query inside it sees the same
        committed state, whatever writers commit meanwhile (WAL snapshot isolation)."""
        conn = self._conn
        conn.execute("BEGIN")
        try:
            yield
        finally:
            conn.execute("COMMIT")

    def get_meta(self, key: str) -> str | None:
        """Return a metadata value, or None."""
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row["value"])

    def set_meta(self, key: str, value: str) -> None:
        """Set a metadata value (outside any generation bump)."""
        self._writer.execute(
            "INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value=?",
            (key, value, value),
        )

    @property
    def generation(self) -> int:
        """A counter bumped by every committed write."""
        return int(self.get_meta("generation") or 0)

    def counts(self) -> dict[str, int]:
        """Return the number of articles, passages and sentences stored."""
        return {
            table: int(self._conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
            for table in ("articles", "passages", "sentences")
        }

    def article_hash(self, article_id: str) -> str | None:
        """The stored content hash of one article, or None."""
        row = self._conn.execute(
            "SELECT content_hash FROM articles WHERE id = ?", (article_id,)
        ).fetchone()
        return None if row is None else str(row[0])

    def article_hashes(self, article_ids: Iterable[str]) -> dict[str, str]:
        """Return ``{article_id: content_hash}`` for those of these articles that are stored."""
        ids = list(dict.fromkeys(article_ids))
        found: dict[str, str] = {}
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            rows = self._conn.execute(
                f"SELECT id, content_hash FROM articles WHERE id IN ({','.join('?' * len(chunk))})",
                chunk,
            )
            found.update((r["id"], r["content_hash"]) for r in rows)
        return found

    def log_change(self, txn: Transaction, article_id: str) -> None:
        """Record that the transaction adds, replaces or deletes this article."""
        txn.conn.execute(
            "INSERT INTO changes(generation, article_id) VALUES (?, ?)",
            (txn.generation, article_id),
        )

    def changed_since(self, generation: int) -> list[str]:
        """Ids of the articles written or deleted by generations after ``generation``."""
        rows = self._conn.execute(
            "SELECT DISTINCT article_id FROM changes WHERE generation > ?", (generation,)
        )
        return [r[0] for r in rows]

    def oldest_change(self) -> int | None:
        """The first generation the change log still holds, or None when it is empty."""
        row = self._conn.execute("SELECT MIN(generation) FROM changes").fetchone()
        return None if row[0] is None else int(row[0])

    def put_article(
        self,
        conn: sqlite3.Connection,
        article: Article,
        passages: Sequence[Passage],
        passage_vectors: Vectors,
        sentence_vectors: Sequence[Vectors],
    ) -> list[int]:
        """Insert or replace an article with its passages; returns the new passages' row ids.

        Must run inside ``transaction()``.
        """
        conn.execute("DELETE FROM articles WHERE id = ?", (article.id,))
        conn.execute(
            "INSERT INTO articles(id, title, author, outlet, section, standfirst, url, published,"
            " extra, text, content_hash) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (
                article.id,
                *(getattr(article, f) for f in _ARTICLE_FIELDS),
                json.dumps(article.extra, ensure_ascii=False),
                article.text,
                content_hash(article),
            ),
        )
        rowids = []
        for passage, vector, sent_vecs in zip(
            passages, passage_vectors, sentence_vectors, strict=True
        ):
            cur = conn.execute(
                'INSERT INTO passages(id, article_id, ordinal, start, "end", vector, entities)'
                " VALUES (?,?,?,?,?,?,?)",
                (
                    passage.id,
                    article.id,
                    passage.ordinal,
                    passage.start,
                    passage.end,
                    np.asarray(vector, dtype=np.float32).tobytes(),
                    json.dumps([[e.start, e.end, e.label] for e in passage.entities])
                    if passage.entities
                    else None,
                ),
            )
            rowid = int(cur.lastrowid or 0)
            rowids.append(rowid)
            conn.executemany(
                'INSERT INTO sentences(passage_rowid, start, "end", vector) VALUES (?,?,?,?)',
                [
                    (rowid, s.start, s.end, np.asarray(v, dtype=np.float32).tobytes())
                    for s, v in zip(passage.sentences, sent_vecs, strict=True)
                ],
            )
        return rowids

    def delete_article(self, conn: sqlite3.Connection, article_id: str) -> bool:
        """Delete an article and (by cascade) its passages; returns whether it existed."""
        cur = conn.execute("DELETE FROM articles WHERE id = ?", (article_id,))
        return cur.rowcount > 0

    def _article(self, row: sqlite3.Row, with_text: bool) -> Article:
        return Article(
            id=row["id"],
            title=row["title"],
            text=row["text"] if with_text else "",
            extra=json.loads(row["extra"]),
            **{f: row[f] for f in _ARTICLE_FIELDS if f != "title"},
        )

    def get_article(self, article_id: str) -> Article | None:
        """Return the article with its full text, or None."""
        row = self._conn.execute("SELECT * FROM articles WHERE id = ?", (article_id,)).fetchone()
        return None if row is None else self._article(row, with_text=True)

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
        conn = self._conn
        where, args = "", ()  # type: tuple[str, tuple[str, ...]]
        if article_ids is not None and len(article_ids) > 500:
            return [
                stored
                for i in range(0, len(article_ids), 500)
                for stored in self.load_articles(dimension, article_ids[i : i + 500], with_vectors)
            ]
        if article_ids is not None:
            if not article_ids:
                return []
            where = f"WHERE a.id IN ({','.join('?' * len(article_ids))})"
            args = tuple(article_ids)
        pvec, svec = ("p.vector", "s.vector") if with_vectors else ("NULL", "NULL")
        width = dimension if with_vectors else 0
        prow = conn.execute(
            f'SELECT p.rowid, p.id, p.article_id, p.ordinal, p.start, p."end", {pvec} AS vector,'
            " p.entities FROM passages p JOIN articles a ON a.id = p.article_id"
            f" {where} ORDER BY p.rowid",
            args,
        ).fetchall()
        srow = conn.execute(
            f'SELECT s.passage_rowid, s.start, s."end", {svec} AS vector FROM sentences s'
            " JOIN passages p ON p.rowid = s.passage_rowid JOIN articles a ON a.id = p.article_id"
            f" {where} ORDER BY s.passage_rowid, s.rowid",
            args,
        ).fetchall()
        articles = {
            r["id"]: self._article(r, with_text=True)
            for r in conn.execute(f"SELECT * FROM articles a {where}", args)
        }
        sentences: dict[int, list[sqlite3.Row]] = {}
        for r in srow:
            sentences.setdefault(r["passage_rowid"], []).append(r)
        grouped: dict[str, list[sqlite3.Row]] = {}
        for r in prow:
            grouped.setdefault(r["article_id"], []).append(r)
        out = []
        for article_id, rows in grouped.items():
            article = articles[article_id]
            text = article.text
            passages = []
            sentence_vectors = []
            for r in rows:
                sents = sentences.get(r["rowid"], [])
                passages.append(
                    Passage(
                        id=r["id"],
                        article_id=article_id,
                        ordinal=r["ordinal"],
                        start=r["start"],
                        end=r["end"],
                        text=text[r["start"] : r["end"]],
                        sentences=tuple(
                            Span(s["start"], s["end"], text[s["start"] : s["end"]]) for s in sents
                        ),
                        entities=_entities(r["entities"]),
                    )
                )
                sentence_vectors.append(_vectors([s["vector"] for s in sents], width))
            out.append(
                StoredArticle(
                    article=article,
                    rowids=[int(r["rowid"]) for r in rows],
                    passages=passages,
                    vectors=_vectors([r["vector"] for r in rows], width),
                    sentence_vectors=sentence_vectors,
                )
            )
        return out


def _entities(stored: str | None) -> tuple[Entity, ...]:
    if not stored:
        return ()
    return tuple(Entity(int(a), int(b), str(label)) for a, b, label in json.loads(stored))


def _vectors(blobs: Sequence[bytes], dimension: int) -> Vectors:
    """Stored float32 vectors as one array, a row each."""
    if not blobs or not dimension:
        return np.zeros((len(blobs), dimension), dtype=np.float32)
    return np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(blobs), dimension)
