"""Plain data of the answering pipeline."""

from __future__ import annotations

from dataclasses import dataclass

from index.models import Article, Passage, Span


@dataclass(frozen=True)
class Hit:
    """A retrieved passage with its fused score and the per-method scores behind it."""

    rowid: int  # the passage's row id in the corpus snapshot it came from
    passage: Passage
    article: Article  # metadata only; ``text`` may be empty
    score: float
    dense: float | None = None  # cosine of question and passage
    sentence: float | None = None  # cosine of question and the passage's closest sentence
    lexical: float | None = None  # BM25


@dataclass(frozen=True)
class Citation:
    """A numbered reference to a passage, with the best sentence inside it if one was picked."""

    rank: int
    hit: Hit
    highlight: Span | None = None


@dataclass(frozen=True)
class Answer:
    """The reply to a question: the quoted sentence (or None when refused) and its citations."""

    question: str
    answered: bool
    text: str | None
    citations: tuple[Citation, ...]
