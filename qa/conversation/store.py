"""Conversation turns and the feedback on them, kept in a SQLite file of their own.

Each thread has its own connection (WAL mode: readers never wait for a writer, and writers wait
for each other inside SQLite, with a busy timeout), so questions in different conversations do
not queue behind one Python lock. Asking reads one row, the conversation's last turn; appending
numbers the turn in the statement that inserts it.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

Rating = Literal["up", "down"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS turns (
    conversation_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    question TEXT NOT NULL,
    resolved TEXT NOT NULL,
    answered INTEGER NOT NULL,
    answer TEXT,
    citations TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    feedback TEXT CHECK (feedback IN ('up', 'down')),
    feedback_at TEXT,
    PRIMARY KEY (conversation_id, idx)
);
"""
_BUSY_TIMEOUT_MS = 30_000


class ConversationError(LookupError):
    """An unknown conversation or turn; the message names it."""


@dataclass(frozen=True)
class Turn:
    """One question of a conversation and the reply it got."""

    question: str
    resolved: str  # the text retrieval used: the question, or it read with the one before
    answered: bool
    answer: str | None
    citations: list[dict[str, Any]]
    created_at: str = ""
    feedback: Rating | None = None


@dataclass(frozen=True)
class LastTurn:
    """What the next question needs of the conversation so far."""

    index: int
    resolved: str


class ConversationStore:
    """Conversations in their own SQLite file (they never touch the index)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()  # guards the list only, never a query
        conn = self._conn()
        conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript(_SCHEMA)

    def _conn(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
            # Deleted turns are overwritten with zeros, not left readable in free pages.
            conn.execute("PRAGMA secure_delete=ON")
            self._local.conn = conn
            with self._connections_lock:
                self._connections.append(conn)
        return conn

    def close(self) -> None:
        """Close every thread's connection."""
        with self._connections_lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()

    @staticmethod
    def new_id() -> str:
        """A fresh conversation id."""
        return uuid.uuid4().hex

    def last_turn(self, conversation_id: str) -> LastTurn | None:
        """The conversation's latest turn (one row read), or None for an unknown id."""
        row = (
            self._conn()
            .execute(
                "SELECT idx, resolved FROM turns WHERE conversation_id = ?"
                " ORDER BY idx DESC LIMIT 1",
                (conversation_id,),
            )
            .fetchone()
        )
        return None if row is None else LastTurn(index=row["idx"], resolved=row["resolved"])

    def turns(self, conversation_id: str) -> list[Turn]:
        """The turns of a conversation, oldest first (empty for an unknown id)."""
        rows = (
            self._conn()
            .execute(
                "SELECT * FROM turns WHERE conversation_id = ? ORDER BY idx", (conversation_id,)
            )
            .fetchall()
        )
        return [_turn(r) for r in rows]

    def append(self, conversation_id: str, turn: Turn) -> int:
        """Store a turn at the end of the conversation; returns its index."""
        # One statement reads the last index and inserts after it; SQLite runs writers one at a
        # time, so two appends to one conversation cannot take the same index.
        row = (
            self._conn()
            .execute(
                "INSERT INTO turns(conversation_id, idx, question, resolved, answered, answer,"
                " citations) SELECT ?, COALESCE(MAX(idx) + 1, 0), ?, ?, ?, ?, ? FROM turns"
                " WHERE conversation_id = ? RETURNING idx",
                (
                    conversation_id,
                    turn.question,
                    turn.resolved,
                    int(turn.answered),
                    turn.answer,
                    json.dumps(turn.citations, ensure_ascii=False),
                    conversation_id,
                ),
            )
            .fetchone()
        )
        return int(row[0])

    def rate(self, conversation_id: str, index: int, rating: Rating) -> None:
        """Record thumbs up or down on a turn; raises ``ConversationError`` if there is none."""
        cur = self._conn().execute(
            "UPDATE turns SET feedback = ?, feedback_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')"
            " WHERE conversation_id = ? AND idx = ?",
            (rating, conversation_id, index),
        )
        if cur.rowcount == 0:
            raise ConversationError(f"conversation {conversation_id!r} has no turn {index}")

    def rated(self) -> list[tuple[str, int, Turn]]:
        """Every turn with feedback, as ``(conversation id, index, turn)``."""
        rows = (
            self._conn()
            .execute("SELECT * FROM turns WHERE feedback IS NOT NULL ORDER BY conversation_id, idx")
            .fetchall()
        )
        return [(r["conversation_id"], r["idx"], _turn(r)) for r in rows]


def _turn(row: sqlite3.Row) -> Turn:
    return Turn(
        question=row["question"],
        resolved=row["resolved"],
        answered=bool(row["answered"]),
        answer=row["answer"],
        citations=json.loads(row["citations"]),
        created_at=row["created_at"],
        feedback=row["feedback"],
    )
