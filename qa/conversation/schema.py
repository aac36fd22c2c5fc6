"""The conversation store's table, and turns written to its rows and read back."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import RowMapping

from qa.conversation.models import AnswerRef, CitationRef, StoredTurn, Turn
from qa.timewords import TimeWindow

# SQLite files written before the schema was Alembic's numbered it in ``PRAGMA user_version``
# (still kept there): 1: each turn held copies of its citations (text, titles) and the answer
# sentence; 2: references only; 3: with the exact answer's offsets (span_start, span_end).
SCHEMA_VERSION = 3
MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "alembic_version_conversations"
turns_table = sa.Table(
    "turns",
    sa.MetaData(),
    sa.Column("conversation_id", sa.Text, primary_key=True),
    sa.Column("idx", sa.Integer, primary_key=True),
    sa.Column("question", sa.Text, nullable=False),
    sa.Column("resolved", sa.Text, nullable=False),
    sa.Column("answered", sa.Integer, nullable=False),
    sa.Column("answer_rank", sa.Integer),
    sa.Column("answer_start", sa.Integer),
    sa.Column("answer_end", sa.Integer),
    sa.Column("span_start", sa.Integer),
    sa.Column("span_end", sa.Integer),
    sa.Column("citations", sa.Text, nullable=False),
    sa.Column("created_at", sa.Text, nullable=False),
    sa.Column("feedback", sa.Text),
    sa.Column("feedback_at", sa.Text),
    sa.Column("window_from", sa.Text),
    sa.Column("window_to", sa.Text),
    sa.Column("window_phrase", sa.Text),
)


def citations_json(citations: tuple[CitationRef, ...]) -> str:
    """The JSON form of a turn's citations, as the ``citations`` column holds it."""
    return json.dumps([c.as_dict() for c in citations], ensure_ascii=False)


def window_columns(window: TimeWindow | None) -> dict[str, str | None]:
    """The ``window_*`` columns of a turn answered from ``window`` (all None without one)."""
    if window is None:
        return {"window_from": None, "window_to": None, "window_phrase": None}
    return {
        "window_from": window.start.isoformat(),
        "window_to": window.end.isoformat(),
        "window_phrase": window.phrase,
    }


def row_window(row: RowMapping) -> TimeWindow | None:
    """The time window a row's ``window_*`` columns hold, or None."""
    if row["window_from"] is None or row["window_to"] is None:
        return None
    return TimeWindow(
        date.fromisoformat(row["window_from"]),
        date.fromisoformat(row["window_to"]),
        str(row["window_phrase"] or ""),
    )


def stored_turn(row: RowMapping) -> StoredTurn:
    """The turn a row of ``turns_table`` holds."""
    answer = None
    if row["answer_rank"] is not None:
        span = None
        if row["span_start"] is not None:
            span = (int(row["span_start"]), int(row["span_end"]))
        answer = AnswerRef(row["answer_rank"], row["answer_start"], row["answer_end"], span)
    return StoredTurn(
        conversation_id=row["conversation_id"],
        index=row["idx"],
        turn=Turn(
            question=row["question"],
            resolved=row["resolved"],
            answered=bool(row["answered"]),
            answer=answer,
            citations=tuple(CitationRef.from_dict(c) for c in json.loads(row["citations"])),
            time_window=row_window(row),
        ),
        created_at=row["created_at"],
        feedback=row["feedback"],
    )


# -- the first schema ------------------------------------------------------------------------
