"""SQLite storage of articles, passages, sentences and their vectors: the source of truth.

The FAISS file beside it is a derived copy of the passage vectors; if the two ever disagree (a crash
between the database commit and the index save), the index is rebuilt from here.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from index.models import Article, Passage, Span

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
    vector BLOB NOT NULL
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
class StoredPassages:
    """Every stored passage with its vector and its sentences' vectors, in row id order."""

    rowids: npt.NDArray[np.int64]
    passages: list[Passage]
    vectors: Vectors
    # Sentences of passage i are rows sentence_bounds[i]:sentence_bounds[i+1] of sentence_vectors.
    sentence_bounds: npt.NDArray[np.int64]
    sentence_vectors: Vectors


class Database:
    """A SQLite file of articles, passages and sentences with their vectors."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # One connection writes (callers serialise writes); each reading thread has its own, so
        # that with WAL a reader sees the last committed state, never a write in progress.
        self._writer = self._connect()
        self._writer.execute("PRAGMA journal_mode=WAL")
        self._writer.executescript(_SCHEMA)
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA busy_timeout=30000")
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
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that bumps the generation; all or nothing."""
        self._writer.execute("BEGIN IMMEDIATE")
        try:
            yield self._writer
            self._writer.execute(
                "INSERT INTO meta(key, value) VALUES('generation', '1') ON CONFLICT(key) "
                "DO UPDATE SET value = CAST(value AS INTEGER) + 1"
            )
            self._writer.execute("COMMIT")
        except BaseException:
            self._writer.execute("ROLLBACK")
            raise

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

    def article_hashes(self) -> dict[str, str]:
        """Return ``{article_id: content_hash}`` for every stored article."""
        rows = self._conn.execute("SELECT id, content_hash FROM articles")
        return {r["id"]: r["content_hash"] for r in rows}

    def passage_rowids(self, conn: sqlite3.Connection, article_id: str) -> list[int]:
        """Return the row ids of an article's passages."""
        rows = conn.execute("SELECT rowid FROM passages WHERE article_id = ?", (article_id,))
        return [int(r[0]) for r in rows]

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
                'INSERT INTO passages(id, article_id, ordinal, start, "end", vector)'
                " VALUES (?,?,?,?,?,?)",
                (
                    passage.id,
                    article.id,
                    passage.ordinal,
                    passage.start,
                    passage.end,
                    np.asarray(vector, dtype=np.float32).tobytes(),
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

    def articles(self) -> list[tuple[Article, int]]:
        """Return every article (without its text) with its passage count, ordered by id."""
        rows = self._conn.execute(
            "SELECT a.id, a.title, a.author, a.outlet, a.section, a.standfirst, a.url,"
            " a.published, a.extra, (SELECT COUNT(*) FROM passages p WHERE p.article_id = a.id)"
            " AS passage_count FROM articles a ORDER BY a.id"
        ).fetchall()
        return [(self._article(r, with_text=False), int(r["passage_count"])) for r in rows]

    def load_passages(self, dimension: int) -> StoredPassages:
        """Read every passage, its vector and its sentences, in row id order."""
        conn = self._conn
        texts = {r["id"]: r["text"] for r in conn.execute("SELECT id, text FROM articles")}
        prow = conn.execute(
            'SELECT rowid, id, article_id, ordinal, start, "end", vector FROM passages'
            " ORDER BY rowid"
        ).fetchall()
        srow = conn.execute(
            'SELECT passage_rowid, start, "end", vector FROM sentences'
            " ORDER BY passage_rowid, rowid"
        ).fetchall()
        sent_vecs = np.empty((len(srow), dimension), dtype=np.float32)
        for i, r in enumerate(srow):
            sent_vecs[i] = np.frombuffer(r["vector"], dtype=np.float32)
        counts: dict[int, int] = {}
        for r in srow:
            counts[r["passage_rowid"]] = counts.get(r["passage_rowid"], 0) + 1
        passages = []
        vectors = np.empty((len(prow), dimension), dtype=np.float32)
        bounds = np.zeros(len(prow) + 1, dtype=np.int64)
        cursor = 0
        for i, r in enumerate(prow):
            text = texts[r["article_id"]]
            n = counts.get(r["rowid"], 0)
            spans = tuple(
                Span(s["start"], s["end"], text[s["start"] : s["end"]])
                for s in srow[cursor : cursor + n]
            )
            cursor += n
            bounds[i + 1] = cursor
            passages.append(
                Passage(
                    id=r["id"],
                    article_id=r["article_id"],
                    ordinal=r["ordinal"],
                    start=r["start"],
                    end=r["end"],
                    text=text[r["start"] : r["end"]],
                    sentences=spans,
                )
            )
            vectors[i] = np.frombuffer(r["vector"], dtype=np.float32)
        return StoredPassages(
            rowids=np.array([r["rowid"] for r in prow], dtype=np.int64),
            passages=passages,
            vectors=vectors,
            sentence_bounds=bounds,
            sentence_vectors=sent_vecs,
        )
