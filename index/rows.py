"""The database's tables and how their rows become objects: articles, passages (with their
entities), sentences and their vectors, the change log and the meta table (``index/store.py``
reads and writes them; ``index/migrations`` is the schema's history)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import sqlalchemy as sa
from sqlalchemy import Connection, RowMapping
from sqlalchemy.dialects import postgresql, sqlite

from index.arrays import Vectors
from index.models import Article, Entity, Passage, Span

_metadata = sa.MetaData()
meta_table = sa.Table(
    "meta",
    _metadata,
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)
articles_table = sa.Table(
    "articles",
    _metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("title", sa.Text, nullable=False),
    *(
        sa.Column(name, sa.Text)
        for name in ("author", "outlet", "section", "standfirst", "url", "published")
    ),
    sa.Column("extra", sa.Text, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("content_hash", sa.Text, nullable=False),
)
passages_table = sa.Table(
    "passages",
    _metadata,
    sa.Column("rowid", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("id", sa.Text, nullable=False),
    sa.Column("article_id", sa.Text, sa.ForeignKey("articles.id"), nullable=False),
    sa.Column("ordinal", sa.Integer, nullable=False),
    sa.Column("start", sa.Integer, nullable=False),
    sa.Column("end", sa.Integer, nullable=False),
    sa.Column("vector", sa.LargeBinary, nullable=False),
    sa.Column("entities", sa.Text),
)
sentences_table = sa.Table(
    "sentences",
    _metadata,
    sa.Column("rowid", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("passage_rowid", sa.Integer, sa.ForeignKey("passages.rowid"), nullable=False),
    sa.Column("start", sa.Integer, nullable=False),
    sa.Column("end", sa.Integer, nullable=False),
    sa.Column("vector", sa.LargeBinary, nullable=False),
)
changes_table = sa.Table(
    "changes",
    _metadata,
    sa.Column("generation", sa.Integer, nullable=False),
    sa.Column("article_id", sa.Text, nullable=False),
)

ARTICLE_FIELDS = ("title", "author", "outlet", "section", "standfirst", "url", "published")


def content_hash(article: Article) -> str:
    """Return a hash of everything about the article that ingestion depends on."""
    payload = json.dumps(
        [article.id, article.text, *(getattr(article, f) for f in ARTICLE_FIELDS), article.extra],
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
class StoredPassage:
    """One passage as stored, with its article's metadata (no text) and its vectors."""

    rowid: int
    article: Article  # text=""
    passage: Passage  # its text, sentences and entities, offsets into the article text
    vector: Vectors  # shape (dimension,)
    sentence_vectors: Vectors  # one row per sentence


PASSAGE_COLUMNS = (
    passages_table.c.rowid,
    passages_table.c.id,
    passages_table.c.article_id,
    passages_table.c.ordinal,
    passages_table.c.start,
    passages_table.c.end,
    passages_table.c.entities,
)


def upsert_meta(conn: Connection, key: str, value: str, *, replace: bool) -> None:
    """Insert a metadata value; when the key is there, replace it or (``replace=False``) keep it."""
    if conn.dialect.name == "postgresql":
        pg = postgresql.insert(meta_table).values(key=key, value=value)
        conn.execute(
            pg.on_conflict_do_update(index_elements=["key"], set_={"value": pg.excluded.value})
            if replace
            else pg.on_conflict_do_nothing(index_elements=["key"])
        )
        return
    lite = sqlite.insert(meta_table).values(key=key, value=value)
    conn.execute(
        lite.on_conflict_do_update(index_elements=["key"], set_={"value": lite.excluded.value})
        if replace
        else lite.on_conflict_do_nothing(index_elements=["key"])
    )


def article_from_row(row: RowMapping, with_text: bool) -> Article:
    """An article from its row of the articles table (text left empty unless ``with_text``)."""
    return Article(
        id=row["id"],
        title=row["title"],
        text=row["text"] if with_text else "",
        extra=json.loads(row["extra"]),
        **{f: row[f] for f in ARTICLE_FIELDS if f != "title"},
    )


def passage_from_row(row: RowMapping, sents: Sequence[RowMapping], text: str) -> Passage:
    """A stored passage, its text and sentences sliced from its article's text."""
    return Passage(
        id=row["id"],
        article_id=row["article_id"],
        ordinal=row["ordinal"],
        start=row["start"],
        end=row["end"],
        text=text[row["start"] : row["end"]],
        sentences=tuple(Span(s["start"], s["end"], text[s["start"] : s["end"]]) for s in sents),
        entities=entities_from_json(row["entities"]),
    )


def entities_from_json(stored: str | None) -> tuple[Entity, ...]:
    if not stored:
        return ()
    return tuple(Entity(int(a), int(b), str(label)) for a, b, label in json.loads(stored))


def vectors_from_blobs(blobs: Sequence[bytes | None], dimension: int) -> Vectors:
    """Stored float32 vectors as one array, a row each."""
    if not blobs or not dimension:
        return np.zeros((len(blobs), dimension), dtype=np.float32)
    return np.frombuffer(
        b"".join(bytes(b) for b in blobs if b is not None), dtype=np.float32
    ).reshape(len(blobs), dimension)
