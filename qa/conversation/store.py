"""Conversation turns and the feedback on them, in a database of their own or beside the index's
(a SQLite file by default; any SQLAlchemy URL, such as the PostgreSQL the index shares).

A turn keeps the user's words (the question and the query it was read as) and references to
what answered it: per citation the article, passage, offsets, score, highlight and a short hash
of the quoted text; the answer as the citation and span it quotes. No passage text and no titles
are stored, so an article deleted from the corpus stops being quoted here too (``history.py``
reads the references back through the corpus).

Queries take pooled connections (SQLite in WAL mode: readers never wait for a writer, and writers
wait for each other inside SQLite, with a busy timeout), so questions in different conversations do
not queue behind one Python lock. Asking reads one row, the conversation's last turn; appending
reads the last index and inserts after it under a lock on the conversation (SQLite: the write
lock; PostgreSQL: an advisory lock on the conversation's id, to the end of the transaction).

Retention: a conversation keeps its last ``max_turns`` turns (trimmed on append, through the
primary key), and turns older than ``max_age_days`` are deleted by a sweep run when the store
opens and then at most once per ``sweep_interval`` seconds, on an append. A turn keeps its index
when older ones go, so feedback still names the right turn.

Budget: every question without an id starts a conversation, so neither limit above bounds what
a client can make the store hold. The whole store holds at most ``max_total_turns`` turns: every
``check_every`` appends (per process) the oldest turns past it are deleted, so the store never
exceeds it by more than ``check_every`` per process. A turn is at most about 12 KB (``top_k`` 50:
fifty citation references of some 200 bytes, a 1,000-character question and its resolved
query), about 1 KB at the default ``top_k`` of 5.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import Connection

from index.engine import open_engine, sqlite_file, sqlite_url, upgrade_schema, write_connection
from qa.conversation.models import (
    AnswerRef,
    CitationRef,
    LastTurn,
    Rating,
    StoredTurn,
    Turn,
    quote_hash,
)
from qa.conversation.schema import (
    MIGRATIONS,
    SCHEMA_VERSION,
    VERSION_TABLE,
    citations_json,
    row_window,
    stored_turn,
    turns_table,
    window_columns,
)

log = logging.getLogger(__name__)

_TIMESTAMP = "%Y-%m-%dT%H:%M:%SZ"  # as SQLite's strftime writes created_at: sorts as text


class ConversationError(LookupError):
    """An unknown conversation or turn; the message names it."""


class ConversationStore:
    """Conversations in tables of their own (they never touch the index's).

    ``url_or_path`` is a SQLAlchemy URL, or the path of a SQLite file. A SQLite file written with
    the first schema, which kept copies of the cited text, is converted in place when opened:
    references derived from the copies, the copies dropped, in one transaction.
    """

    def __init__(
        self,
        url_or_path: str | Path,
        *,
        max_turns: int = 100,
        max_age_days: float = 30.0,
        sweep_interval: float = 300.0,
        max_total_turns: int = 100_000,
    ) -> None:
        if max_turns < 1:
            raise ValueError(f"max_turns must be at least 1, got {max_turns}")
        if max_age_days <= 0:
            raise ValueError(f"max_age_days must be positive, got {max_age_days}")
        if sweep_interval < 0:
            raise ValueError(f"sweep_interval must not be negative, got {sweep_interval}")
        if max_total_turns < 1:
            raise ValueError(f"max_total_turns must be at least 1, got {max_total_turns}")
        url = str(url_or_path) if "://" in str(url_or_path) else sqlite_url(url_or_path)
        self.url = url
        self.max_turns = max_turns
        self.max_age_days = max_age_days
        self.sweep_interval = sweep_interval
        self.max_total_turns = max_total_turns
        # Counting every turn takes a scan of an index: done every so many appends, a small
        # share of the budget, so that the overshoot stays small too.
        self.check_every = max(1, min(256, max_total_turns // 8))
        self._appends = 0
        self._appends_lock = threading.Lock()
        # In WAL mode a commit at NORMAL is a write to the log without an fsync: it survives the
        # process being killed, and a power cut loses at most the turns since the last checkpoint
        # of the log, never the file. An fsync per question (FULL) cost more than the rest of the
        # question.
        self.engine = open_engine(url, synchronous="NORMAL")
        self.path = sqlite_file(self.engine)
        self._sweep_lock = threading.Lock()  # one sweep at a time; nobody waits for it
        try:
            self._prepare()
            self._next_sweep = time.monotonic() + sweep_interval
            self.sweep()
            self.evict()
        except BaseException:
            self.engine.dispose()
            raise

    @property
    def _sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def _prepare(self) -> None:
        """Create the schema, or convert a file written with an older one."""
        with write_connection(self.engine) as conn:
            with conn.begin():
                copies = self._legacy_sqlite(conn) if self._sqlite else False
                upgrade_schema(conn, MIGRATIONS, VERSION_TABLE)
                if copies:
                    _migrate_copies_to_references(conn)
                if self._sqlite:
                    conn.exec_driver_sql(f"PRAGMA user_version = {SCHEMA_VERSION}")
            if copies:
                # Move the converted pages into the database file and empty the WAL, so no copy
                # of the old text stays behind in either (secure_delete zeroed the freed pages).
                raw = conn.connection.driver_connection
                assert raw is not None
                raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def _legacy_sqlite(self, conn: Connection) -> bool:
        """Bring a SQLite file written before the schema was Alembic's to schema 3, inside the
        caller's transaction; returns whether its turns hold copies (set aside as
        ``turns_with_copies``, converted once the new table exists)."""
        version = int(conn.exec_driver_sql("PRAGMA user_version").scalar_one())
        if version > SCHEMA_VERSION:
            raise RuntimeError(
                f"{self.path} was written by a newer version (schema {version}); "
                f"this one reads schema {SCHEMA_VERSION}"
            )
        if version == SCHEMA_VERSION:
            return False
        columns = {r[1] for r in conn.exec_driver_sql("PRAGMA table_info(turns)")}
        if "answer" in columns:
            conn.exec_driver_sql("ALTER TABLE turns RENAME TO turns_with_copies")
            return True
        if version == 2 and columns:
            conn.exec_driver_sql("ALTER TABLE turns ADD COLUMN span_start INTEGER")
            conn.exec_driver_sql("ALTER TABLE turns ADD COLUMN span_end INTEGER")
        elif columns:
            raise RuntimeError(f"{self.path} holds a turns table this version cannot read")
        return False

    def copy_from(self, other: ConversationStore) -> int:
        """Add the turns (with their feedback) of another store that this one lacks, keyed by
        conversation and turn index (``qa migrate``); returns how many were added."""
        with other.engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(sa.select(turns_table)).mappings()]
        added = 0
        with write_connection(self.engine) as conn, conn.begin():
            for row in rows:
                key = (turns_table.c.conversation_id == row["conversation_id"]) & (
                    turns_table.c.idx == row["idx"]
                )
                if conn.execute(sa.select(sa.func.count()).where(key)).scalar_one() == 0:
                    conn.execute(sa.insert(turns_table).values(**row))
                    added += 1
        return added

    def close(self) -> None:
        """Close every connection."""
        self.engine.dispose()

    @staticmethod
    def new_id() -> str:
        """A fresh conversation id: 128 random bits as 32 hex digits (``uuid4`` fixes 6 of its
        128 bits). The id is all that guards a conversation."""
        return secrets.token_hex(16)

    def last_turn(self, conversation_id: str) -> LastTurn | None:
        """The conversation's latest turn (one row read), or None for an unknown id."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(
                    turns_table.c.idx,
                    turns_table.c.resolved,
                    turns_table.c.window_from,
                    turns_table.c.window_to,
                    turns_table.c.window_phrase,
                )
                .where(turns_table.c.conversation_id == conversation_id)
                .order_by(turns_table.c.idx.desc())
                .limit(1)
            ).first()
        if row is None:
            return None
        return LastTurn(int(row.idx), str(row.resolved), row_window(row._mapping))

    def turns(
        self, conversation_id: str, *, limit: int | None = None, before: int | None = None
    ) -> list[StoredTurn]:
        """The turns of a conversation, oldest first (empty for an unknown id): with ``limit``,
        only the latest ``limit`` of them; with ``before``, only those of lower index."""
        query = sa.select(turns_table).where(turns_table.c.conversation_id == conversation_id)
        if before is not None:
            query = query.where(turns_table.c.idx < before)
        query = query.order_by(turns_table.c.idx.desc())
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [stored_turn(r) for r in reversed(rows)]

    def append(self, conversation_id: str, turn: Turn) -> int:
        """Store a turn at the end of the conversation; returns its index."""
        answer = turn.answer
        span = None if answer is None else answer.span
        with write_connection(self.engine) as conn, conn.begin():
            if not self._sqlite:  # SQLite's BEGIN IMMEDIATE already holds the write lock
                conn.execute(
                    sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext(conversation_id)))
                )
            last = conn.execute(
                sa.select(sa.func.max(turns_table.c.idx)).where(
                    turns_table.c.conversation_id == conversation_id
                )
            ).scalar_one()
            index = 0 if last is None else int(last) + 1
            conn.execute(
                sa.insert(turns_table).values(
                    conversation_id=conversation_id,
                    idx=index,
                    question=turn.question,
                    resolved=turn.resolved,
                    answered=int(turn.answered),
                    answer_rank=None if answer is None else answer.rank,
                    answer_start=None if answer is None else answer.start,
                    answer_end=None if answer is None else answer.end,
                    span_start=None if span is None else span[0],
                    span_end=None if span is None else span[1],
                    citations=citations_json(turn.citations),
                    **window_columns(turn.time_window),
                )
            )
            conn.execute(
                sa.delete(turns_table).where(
                    turns_table.c.conversation_id == conversation_id,
                    turns_table.c.idx <= index - self.max_turns,
                )
            )
        self._sweep_if_due()
        with self._appends_lock:
            self._appends += 1
            due = self._appends % self.check_every == 0
        if due:
            self.evict()
        return index

    def total_turns(self) -> int:
        """How many turns the store holds, in every conversation."""
        with self.engine.connect() as conn:
            return int(
                conn.execute(sa.select(sa.func.count()).select_from(turns_table)).scalar_one()
            )

    def evict(self) -> int:
        """Delete the oldest turns past ``max_total_turns``; returns how many went."""
        with write_connection(self.engine) as conn, conn.begin():
            total = conn.execute(sa.select(sa.func.count()).select_from(turns_table)).scalar_one()
            excess = int(total) - self.max_total_turns
            if excess <= 0:
                return 0
            key = sa.tuple_(turns_table.c.conversation_id, turns_table.c.idx)
            oldest = (
                sa.select(turns_table.c.conversation_id, turns_table.c.idx)
                .order_by(
                    turns_table.c.created_at, turns_table.c.conversation_id, turns_table.c.idx
                )
                .limit(excess)
            )
            result = conn.execute(sa.delete(turns_table).where(key.in_(oldest)))
        log.info("conversation budget: %d oldest turns deleted", result.rowcount)
        return int(result.rowcount)

    def sweep(self) -> int:
        """Delete every turn older than ``max_age_days``; returns how many went."""
        cutoff = datetime.now(UTC) - timedelta(days=self.max_age_days)
        with write_connection(self.engine) as conn, conn.begin():
            result = conn.execute(
                sa.delete(turns_table).where(turns_table.c.created_at < cutoff.strftime(_TIMESTAMP))
            )
        return int(result.rowcount)

    def _sweep_if_due(self) -> None:
        """Sweep when ``sweep_interval`` has passed since the last one, unless one is running."""
        now = time.monotonic()
        if now < self._next_sweep or not self._sweep_lock.acquire(blocking=False):
            return
        try:
            self._next_sweep = now + self.sweep_interval
            self.sweep()
        finally:
            self._sweep_lock.release()

    def rate(self, conversation_id: str, index: int, rating: Rating) -> None:
        """Record thumbs up or down on a turn; raises ``ConversationError`` if there is none."""
        with write_connection(self.engine) as conn, conn.begin():
            result = conn.execute(
                sa.update(turns_table)
                .where(turns_table.c.conversation_id == conversation_id, turns_table.c.idx == index)
                .values(feedback=rating, feedback_at=datetime.now(UTC).strftime(_TIMESTAMP))
            )
        if result.rowcount == 0:
            raise ConversationError(f"conversation {conversation_id!r} has no turn {index}")

    def rated(self) -> list[StoredTurn]:
        """Every turn with feedback, by conversation and index."""
        with self.engine.connect() as conn:
            rows = (
                conn.execute(
                    sa.select(turns_table)
                    .where(turns_table.c.feedback.is_not(None))
                    .order_by(turns_table.c.conversation_id, turns_table.c.idx)
                )
                .mappings()
                .all()
            )
        return [stored_turn(r) for r in rows]


def _migrate_copies_to_references(conn: Connection) -> None:
    """Convert, inside the caller's transaction, the rows of ``turns_with_copies`` (the first
    schema's turns, set aside), which hold copies of their citations (JSON with passage text and
    article metadata) and the answer sentence, into ``turns``; then drop the copies."""
    rows = conn.exec_driver_sql("SELECT * FROM turns_with_copies ORDER BY conversation_id, idx")
    for row in rows.mappings().all():
        try:
            citations, answer = _references_from_copies(row["citations"], row["answer"])
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            # Unreadable copies: keep the user's words, drop what cannot be referenced (an
            # answered turn without an answer reference reads back as withheld).
            log.warning(
                "conversation %s turn %s: citations unreadable (%s); dropped",
                row["conversation_id"],
                row["idx"],
                exc,
            )
            citations, answer = (), None
        conn.execute(
            sa.insert(turns_table).values(
                conversation_id=row["conversation_id"],
                idx=row["idx"],
                question=row["question"],
                resolved=row["resolved"],
                answered=row["answered"],
                answer_rank=None if answer is None else answer.rank,
                answer_start=None if answer is None else answer.start,
                answer_end=None if answer is None else answer.end,
                citations=citations_json(citations),
                created_at=row["created_at"],
                feedback=row["feedback"],
                feedback_at=row["feedback_at"],
            )
        )
    conn.exec_driver_sql("DROP TABLE turns_with_copies")


def _references_from_copies(
    citations_json: str, answer: str | None
) -> tuple[tuple[CitationRef, ...], AnswerRef | None]:
    """References derived from stored copies; the answer is referenced only when its sentence
    is the highlighted part of a copied passage."""
    copies = json.loads(citations_json)
    refs = tuple(CitationRef.from_dict({**c, "hash": quote_hash(str(c["text"]))}) for c in copies)
    if answer is None:
        return refs, None
    sentence = _without_marker(answer)
    for copy, ref in zip(copies, refs, strict=True):
        if ref.highlight is not None:
            start, end = ref.highlight
            if str(copy["text"])[start - ref.start : end - ref.start] == sentence:
                return refs, AnswerRef(ref.rank, start, end)
    return refs, None


def _without_marker(answer: str) -> str:
    """The quoted sentence without its trailing citation marker, e.g. " [1]"."""
    head, sep, tail = answer.rpartition(" [")
    return head if sep and tail.endswith("]") and tail[:-1].isdigit() else answer
