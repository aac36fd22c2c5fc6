"""The turns of a conversation as the store keeps them: the user's words and references to
what answered them (article, passage, offsets and a hash of the quoted text), never the text."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Literal

from qa.models import Answer, Citation
from qa.timewords import TimeWindow

Rating = Literal["up", "down"]

_HASH_CHARS = 16


def quote_hash(text: str) -> str:
    """A short fingerprint of quoted text (the first 16 hex digits of its SHA-256): enough to
    tell whether an article still says what was quoted, without keeping the words."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:_HASH_CHARS]


@dataclass(frozen=True)
class CitationRef:
    """A cited passage as stored: where it was and a hash of what it said, never the text."""

    rank: int
    article_id: str
    passage_id: str
    start: int  # offsets into the article's text, as for every citation
    end: int
    score: float
    highlight: tuple[int, int] | None  # the answer sentence, when it came from this passage
    quote_hash: str  # ``quote_hash(article.text[start:end])`` when the turn was stored

    @classmethod
    def of(cls, citation: Citation) -> CitationRef:
        """The reference to a live citation."""
        passage = citation.hit.passage
        span = citation.highlight
        return cls(
            rank=citation.rank,
            article_id=passage.article_id,
            passage_id=passage.id,
            start=passage.start,
            end=passage.end,
            score=round(citation.hit.score, 6),
            highlight=None if span is None else (span.start, span.end),
            quote_hash=quote_hash(passage.text),
        )

    def as_dict(self) -> dict[str, Any]:
        """The JSON form stored in the database."""
        return {
            "rank": self.rank,
            "article_id": self.article_id,
            "passage_id": self.passage_id,
            "start": self.start,
            "end": self.end,
            "score": self.score,
            "highlight": None if self.highlight is None else list(self.highlight),
            "hash": self.quote_hash,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CitationRef:
        """Read the stored JSON form."""
        highlight = data.get("highlight")
        return cls(
            rank=int(data["rank"]),
            article_id=str(data["article_id"]),
            passage_id=str(data["passage_id"]),
            start=int(data["start"]),
            end=int(data["end"]),
            score=float(data["score"]),
            highlight=None if highlight is None else (int(highlight[0]), int(highlight[1])),
            quote_hash=str(data["hash"]),
        )


@dataclass(frozen=True)
class AnswerRef:
    """The answer sentence: characters ``[start, end)`` of the article cited as ``rank``, and
    the exact answer inside it (``span``, same article) when there was one."""

    rank: int
    start: int
    end: int
    span: tuple[int, int] | None = None


@dataclass(frozen=True)
class Turn:
    """One question of a conversation and references to the reply it got."""

    question: str
    resolved: str  # the text retrieval used: the question, or it read with the one before
    answered: bool
    answer: AnswerRef | None  # None when refused
    citations: tuple[CitationRef, ...]
    # The publication days it was answered from, when its question named a period (or the
    # turn before did and it inherited them).
    time_window: TimeWindow | None = None

    @classmethod
    def of(cls, answer: Answer, resolved: str) -> Turn:
        """The turn to store for a live answer: its words, and references to its passages."""
        quoted = next((c for c in answer.citations if c.highlight is not None), None)
        answer_ref = None
        if answer.answered and quoted is not None and quoted.highlight is not None:
            span = None if answer.span is None else (answer.span.start, answer.span.end)
            answer_ref = AnswerRef(quoted.rank, quoted.highlight.start, quoted.highlight.end, span)
        return cls(
            question=answer.question,
            resolved=resolved,
            answered=answer.answered,
            answer=answer_ref,
            citations=tuple(CitationRef.of(c) for c in answer.citations),
            time_window=answer.time_window,
        )


@dataclass(frozen=True)
class StoredTurn:
    """A turn as the store holds it: where it sits, when it was asked, how it was rated."""

    conversation_id: str
    index: int  # from 0; stays the turn's index when older turns are dropped
    turn: Turn
    created_at: str  # ISO 8601, UTC
    feedback: Rating | None = None


@dataclass(frozen=True)
class LastTurn:
    """What the next question needs of the conversation so far."""

    index: int
    resolved: str
    time_window: TimeWindow | None = None  # a follow-up that names no period keeps this one
