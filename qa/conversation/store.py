"""Conversation turns and the feedback on them, kept in a SQLite file of their own."""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
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


class ConversationStore:
    """Conversations in their own SQLite file (they never touch the index)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA busy_timeout=30000")
        self._conn.executescript(_SCHEMA)

    @contextmanager
    def _locked(self) -> Iterator[sqlite3.Connection]:
        # One connection shared by the request threads: one statement group at a time.
        with self._lock:
            yield self._conn

    def close(self) -> None:
        """Close the database."""
        self._conn.close()

    @staticmethod
    def new_id() -> str:
        """A fresh conversation id."""
        return uuid.uuid4().hex

    def turns(self, conversation_id: str) -> list[Turn]:
        """The turns of a conversation, oldest first (empty for an unknown id)."""
        with self._locked() as conn:
            rows = conn.execute(
                "SELECT * FROM turns WHERE conversation_id = ? ORDER BY idx", (conversation_id,)
            ).fetchall()
        return [
            Turn(
                question=r["question"],
                resolved=r["resolved"],
                answered=bool(r["answered"]),
                answer=r["answer"],
                citations=json.loads(r["citations"]),
                created_at=r["created_at"],
                feedback=r["feedback"],
            )
            for r in rows
        ]

    def append(self, conversation_id: str, turn: Turn) -> int:
        """Store a turn at the end of the conversation; returns its index."""
        with self._locked() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute(
                    "SELECT COALESCE(MAX(idx) + 1, 0) FROM turns WHERE conversation_id = ?",
                    (conversation_id,),
                ).fetchone()
                index = int(row[0])
                conn.execute(
                    "INSERT INTO turns(conversation_id, idx, question, resolved, answered, answer,"
                    " citations) VALUES (?,?,?,?,?,?,?)",
                    (
                        conversation_id,
                        index,
                        turn.question,
                        turn.resolved,
                        int(turn.answered),
                        turn.answer,
                        json.dumps(turn.citations, ensure_ascii=False),
                    ),
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return index

    def rate(self, conversation_id: str, index: int, rating: Rating) -> None:
        """Record thumbs up or down on a turn; raises ``ConversationError`` if there is none."""
        with self._locked() as conn:
            cur = conn.execute(
                "UPDATE turns SET feedback = ?, feedback_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')"
                " WHERE conversation_id = ? AND idx = ?",
                (rating, conversation_id, index),
            )
        if cur.rowcount == 0:
            raise ConversationError(f"conversation {conversation_id!r} has no turn {index}")

    def rated(self) -> list[tuple[str, int, Turn]]:
        """Every turn with feedback, as ``(conversation id, index, turn)``."""
        with self._locked() as conn:
            keys = conn.execute(
                "SELECT DISTINCT conversation_id FROM turns WHERE feedback IS NOT NULL"
                " ORDER BY conversation_id"
            ).fetchall()
        out = []
        for (conversation_id,) in keys:
            for index, turn in enumerate(self.turns(conversation_id)):
                if turn.feedback is not None:
                    out.append((conversation_id, index, turn))
        return out
