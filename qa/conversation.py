"""Conversations: their turns kept in a SQLite file, and follow-up questions read in context."""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from index.lexical import LexicalIndex
from index.text import tokenize

Rating = Literal["up", "down"]
MAX_CONTEXT_CHARS = 400

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


def feedback_cases(store: ConversationStore) -> list[dict[str, Any]]:
    """Rated turns as evaluation cases in the gold set's format.

    A thumbs-up answer becomes an answerable question whose answer is the quoted sentence; a
    thumbs-down one is marked ``needs_review`` with the rejected sentence, for a person to give the
    right span (the evaluation skips it until then).
    """
    cases = []
    for conversation_id, index, turn in store.rated():
        sentence = _without_marker(turn.answer) if turn.answer else None
        case: dict[str, Any] = {
            "id": f"fb-{conversation_id}-{index}",
            "question": turn.resolved,
            "answerable": True,
        }
        if turn.feedback == "up" and sentence:
            case["answers"] = [sentence]
        elif turn.feedback == "up":
            case.update(answerable=False, answers=[])  # the refusal was right
        else:
            case.update(answers=[], needs_review=True, rejected=[sentence] if sentence else [])
        cases.append(case)
    return cases


def _without_marker(answer: str) -> str:
    """The quoted sentence without its trailing citation marker, e.g. " [1]"."""
    head, sep, tail = answer.rpartition(" [")
    return head if sep and tail.endswith("]") and tail[:-1].isdigit() else answer


def resolve_followup(
    question: str, history: Sequence[Turn], lexical: LexicalIndex, min_specificity: float
) -> str:
    """The text to retrieve with: the question alone when it is specific enough, else read after
    the previous turn's (resolved) question.

    Specificity is the summed IDF of the question's words that the corpus holds: a follow-up such
    as "What did he say about it?" names nothing the corpus can pin down, so on its own it would
    retrieve at random; the earlier question supplies the subject.
    """
    if not history:
        return question
    specificity = sum(lexical.idf(t) for t in set(tokenize(question)))
    if specificity >= min_specificity:
        return question
    # The earlier turn may itself carry context; keep its end so long chats stay short.
    earlier = history[-1].resolved[-MAX_CONTEXT_CHARS:]
    return f"{earlier} {question}"
