"""Corpus-wide statistics kept in the database, for readers that hold no passages in memory.

The embedded index sums these over its in-memory segments. A replica searching Milvus holds
no segment, so the writer keeps them in the database, in the transaction that writes the
article: per article what it adds (its passages, sentences, the sum of its passage vectors, the
document frequency of each of its terms, the acronyms it spells out), and the corpus totals
those add up to. Replacing or deleting an article subtracts its row first, so the totals are
always those of the committed articles, whatever order writers come in.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa
from sqlalchemy import Connection

from index.acronyms import defined_tokens
from index.models import Passage
from index.rows import articles_table, meta_table, upsert_meta
from index.store import Database

Sum = npt.NDArray[np.float64]

_metadata = sa.MetaData()
term_counts_table = sa.Table(
    "term_counts",
    _metadata,
    sa.Column("term", sa.Text, primary_key=True),
    sa.Column("df", sa.Integer, nullable=False),
)
article_stats_table = sa.Table(
    "article_stats",
    _metadata,
    sa.Column("article_id", sa.Text, primary_key=True),
    sa.Column("passages", sa.Integer, nullable=False),
    sa.Column("sentences", sa.Integer, nullable=False),
    sa.Column("tokens", sa.Integer, nullable=False),  # indexed tokens over its passages
    sa.Column("vector_sum", sa.LargeBinary, nullable=False),  # float64 bytes
    sa.Column("terms", sa.Text, nullable=False),  # JSON {term: passages holding it}
    sa.Column("acronyms", sa.Text, nullable=False),  # JSON {acronym: [expansion tokens]}
)
# The totals live in ``meta`` under these keys.
TOTALS = ("stat:articles", "stat:passages", "stat:sentences", "stat:tokens")
VECTOR_SUM = "stat:vector_sum"
READY = "stat:ready"  # set once every stored article has its row


@dataclass(frozen=True)
class ArticleStatistics:
    """What one article adds to the corpus statistics."""

    passages: int
    sentences: int
    tokens: int
    vector_sum: Sum
    terms: Mapping[str, int]
    acronyms: Mapping[str, tuple[str, ...]]

    @classmethod
    def of(
        cls,
        passages: Sequence[Passage],
        tokens: Sequence[Sequence[str]],
        vectors: npt.NDArray[np.float32],
    ) -> ArticleStatistics:
        """The statistics of an article's passages, their indexed tokens and vectors (the
        acronyms as ``Segment.acronyms`` reads them)."""
        terms: Counter[str] = Counter()
        for words in tokens:
            terms.update(set(words))
        acronyms: dict[str, tuple[str, ...]] = {}
        for passage in passages:
            acronyms.update(defined_tokens(passage.text))
        return cls(
            passages=len(passages),
            sentences=sum(len(p.sentences) for p in passages),
            tokens=sum(len(words) for words in tokens),
            vector_sum=np.asarray(vectors, dtype=np.float64).sum(axis=0),
            terms=dict(terms),
            acronyms=acronyms,
        )


@dataclass(frozen=True)
class Totals:
    """The corpus totals."""

    articles: int
    passages: int
    sentences: int
    tokens: int
    vector_sum: Sum | None  # None before the first article


def _meta(conn: Connection, key: str) -> str | None:
    value = conn.execute(sa.select(meta_table.c.value).where(meta_table.c.key == key)).scalar()
    return None if value is None else str(value)


def _add_totals(conn: Connection, sign: int, stats: ArticleStatistics) -> None:
    amounts = (1, stats.passages, stats.sentences, stats.tokens)
    for key, amount in zip(TOTALS, amounts, strict=True):
        upsert_meta(conn, key, str(int(_meta(conn, key) or 0) + sign * amount), replace=True)
    stored = _meta(conn, VECTOR_SUM)
    total = np.asarray(json.loads(stored), dtype=np.float64) if stored else 0.0
    summed = json.dumps((total + sign * stats.vector_sum).tolist())
    upsert_meta(conn, VECTOR_SUM, summed, replace=True)


def remove(conn: Connection, article_id: str) -> None:
    """Subtract an article's row from the totals and delete it (nothing if it has none). Call in
    the write transaction, before the article itself is replaced or deleted."""
    row = (
        conn.execute(
            sa.select(article_stats_table).where(article_stats_table.c.article_id == article_id)
        )
        .mappings()
        .first()
    )
    if row is None:
        return
    terms: dict[str, int] = json.loads(row["terms"])
    stats = ArticleStatistics(
        row["passages"],
        row["sentences"],
        row["tokens"],
        np.frombuffer(row["vector_sum"], dtype=np.float64),
        terms,
        {},
    )
    _add_totals(conn, -1, stats)
    if terms:
        conn.execute(
            sa.update(term_counts_table)
            .where(term_counts_table.c.term == sa.bindparam("t"))
            .values(df=term_counts_table.c.df - sa.bindparam("n")),
            [{"t": t, "n": n} for t, n in terms.items()],
        )
    conn.execute(
        sa.delete(article_stats_table).where(article_stats_table.c.article_id == article_id)
    )


def add(conn: Connection, article_id: str, stats: ArticleStatistics) -> None:
    """Add an article's row and its share of the totals. Call in the write transaction, after
    ``remove``."""
    conn.execute(
        sa.insert(article_stats_table).values(
            article_id=article_id,
            passages=stats.passages,
            sentences=stats.sentences,
            tokens=stats.tokens,
            vector_sum=np.asarray(stats.vector_sum, dtype=np.float64).tobytes(),
            terms=json.dumps(stats.terms, ensure_ascii=False),
            acronyms=json.dumps({k: list(v) for k, v in stats.acronyms.items()}),
        )
    )
    _add_totals(conn, 1, stats)
    if not stats.terms:
        return
    known: set[str] = set()
    terms = list(stats.terms)
    for i in range(0, len(terms), 500):
        chunk = terms[i : i + 500]
        known.update(
            conn.execute(
                sa.select(term_counts_table.c.term).where(term_counts_table.c.term.in_(chunk))
            ).scalars()
        )
    old = [{"t": t, "n": n} for t, n in stats.terms.items() if t in known]
    new = [{"term": t, "df": n} for t, n in stats.terms.items() if t not in known]
    if old:
        conn.execute(
            sa.update(term_counts_table)
            .where(term_counts_table.c.term == sa.bindparam("t"))
            .values(df=term_counts_table.c.df + sa.bindparam("n")),
            old,
        )
    if new:
        conn.execute(sa.insert(term_counts_table), new)


def ready(db: Database) -> bool:
    """Whether every stored article has its statistics (a store from before they were kept
    has none until ``backfill``)."""
    return db.get_meta(READY) is not None


def mark_ready(conn: Connection) -> None:
    """Record that the statistics cover every stored article."""
    upsert_meta(conn, READY, "1", replace=True)


def totals(db: Database) -> Totals:
    """The corpus totals, as last committed."""
    with db.reading():
        values = [int(db.get_meta(k) or 0) for k in TOTALS]
        stored = db.get_meta(VECTOR_SUM)
    vector_sum = np.asarray(json.loads(stored), dtype=np.float64) if stored else None
    return Totals(values[0], values[1], values[2], values[3], vector_sum)


def document_frequencies(db: Database, terms: Iterable[str]) -> dict[str, int]:
    """How many passages hold each term (terms no passage holds are left out)."""
    wanted = sorted(set(terms))
    found: dict[str, int] = {}
    with db.engine.connect() as conn:
        for i in range(0, len(wanted), 500):
            rows = conn.execute(
                sa.select(term_counts_table.c.term, term_counts_table.c.df).where(
                    term_counts_table.c.term.in_(wanted[i : i + 500]), term_counts_table.c.df > 0
                )
            )
            found.update((str(t), int(n)) for t, n in rows)
    return found


def acronym_definitions(db: Database) -> dict[str, tuple[str, ...]]:
    """Acronym token → its expansion's tokens over the stored articles; where articles
    disagree, the first by id wins."""
    found: dict[str, tuple[str, ...]] = {}
    query = (
        sa.select(article_stats_table.c.acronyms)
        .where(article_stats_table.c.acronyms != "{}")
        .order_by(article_stats_table.c.article_id)
    )
    with db.engine.connect() as conn:
        for (stored,) in conn.execute(query):
            for acronym, expansion in json.loads(stored).items():
                found.setdefault(acronym, tuple(expansion))
    return found


def missing(conn: Connection) -> list[str]:
    """Ids of stored articles without statistics."""
    query = sa.select(articles_table.c.id).where(
        ~articles_table.c.id.in_(sa.select(article_stats_table.c.article_id))
    )
    return [str(i) for i in conn.execute(query).scalars()]
