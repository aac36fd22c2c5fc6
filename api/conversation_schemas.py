"""Request and response bodies of conversations: stored turns read back, and feedback."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas import AnswerSpanOut, CopyOut, TimeWindowOut
from qa.conversation.history import HistoryCitation, HistoryTurn

# Turn indexes are bounded well inside SQLite's 64-bit integers.
MAX_TURN = 1_000_000


class HistoryCitationOut(BaseModel):
    """A citation of a stored turn, read through the corpus as it is now.

    When its article was deleted, or replaced by one that no longer holds the passage,
    ``removed`` is true and ``text`` and the article's metadata are null; the offsets, score and
    highlight stay as they were.
    """

    rank: int
    article_id: str
    title: str | None
    author: str | None
    outlet: str | None
    published: str | None
    url: str | None
    passage_id: str
    text: str | None
    start: int
    end: int
    score: float
    highlight: tuple[int, int] | None
    # The same shape as /api/ask's citations; a stored turn keeps no copies (they are listed
    # as the question is answered), so it is always empty here.
    also_in: list[CopyOut] = Field(default_factory=list)
    removed: bool

    @classmethod
    def of(cls, citation: HistoryCitation) -> HistoryCitationOut:
        """Shape a resolved citation for the wire."""
        ref, article = citation.ref, citation.article
        return cls(
            rank=ref.rank,
            article_id=ref.article_id,
            title=None if article is None else article.title,
            author=None if article is None else article.author,
            outlet=None if article is None else article.outlet,
            published=None if article is None else article.published,
            url=None if article is None else article.url,
            passage_id=ref.passage_id,
            text=citation.text,
            start=ref.start,
            end=ref.end,
            score=ref.score,
            highlight=ref.highlight,
            removed=citation.removed,
        )


class TurnOut(BaseModel):
    """One stored turn of a conversation."""

    turn: int = Field(description="The turn's index, as /api/ask returned it.")
    question: str
    resolved_query: str
    answered: bool
    answer: str | None = Field(description="Null when refused, or withheld (answer_removed).")
    answer_removed: bool = Field(
        description="The answer quoted a passage the corpus no longer holds, so it is withheld."
    )
    answer_span: AnswerSpanOut | None = Field(
        None, description="The exact answer inside the answer sentence, as /api/ask gave it."
    )
    citations: list[HistoryCitationOut]
    created_at: str
    feedback: Literal["up", "down"] | None
    time_window: TimeWindowOut | None = Field(
        None, description="The publication days the turn was answered from, as /api/ask gave."
    )

    @classmethod
    def of(cls, turn: HistoryTurn) -> TurnOut:
        """Shape a turn read back through the corpus for the wire."""
        stored = turn.stored
        return cls(
            turn=stored.index,
            question=stored.turn.question,
            resolved_query=stored.turn.resolved,
            answered=stored.turn.answered,
            answer=turn.answer,
            answer_removed=turn.answer_removed,
            answer_span=_stored_span(turn),
            citations=[HistoryCitationOut.of(c) for c in turn.citations],
            created_at=stored.created_at,
            feedback=stored.feedback,
            time_window=TimeWindowOut.of(stored.turn.time_window),
        )


def _stored_span(turn: HistoryTurn) -> AnswerSpanOut | None:
    ref = turn.stored.turn.answer
    if turn.span is None or ref is None or ref.span is None:
        return None
    return AnswerSpanOut(start=ref.span[0], end=ref.span[1], text=turn.span)


class ConversationOut(BaseModel):
    """A page of a conversation's turns, oldest first: the latest ones, or those before a turn."""

    id: str
    turns: list[TurnOut]
    has_more: bool = Field(
        False, description="Older turns are left: ask again with before=<the first turn here>."
    )


class FeedbackIn(BaseModel):
    """Thumbs up or down on one turn."""

    model_config = ConfigDict(extra="forbid")

    conversation_id: str = Field(..., pattern=r"^[A-Za-z0-9_-]{1,64}$")
    turn: int = Field(
        ..., ge=0, le=MAX_TURN, description="The turn's index, as /api/ask returned it."
    )
    rating: Literal["up", "down"]
