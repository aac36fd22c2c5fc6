"""Plain data carried between the floors: articles, passages and their sentences.

Every offset is a character offset into ``Article.text``, the stored (cleaned) article text, so
``article.text[p.start:p.end] == p.text`` holds for each passage and sentence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache


@dataclass(frozen=True)
class Article:
    """One article: its cleaned body text and what is known about it."""

    id: str
    title: str
    text: str
    author: str | None = None
    outlet: str | None = None
    section: str | None = None
    standfirst: str | None = None
    url: str | None = None
    published: str | None = None
    # Anything else the source carried (author bio, image credit, ...); never indexed.
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Span:
    """A slice ``[start, end)`` of an article's text."""

    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class Entity:
    """A named entity: ``[start, end)`` offsets (into the text that was tagged, or, once stored
    with a passage, into the article text) and its OntoNotes label, e.g. ``PERSON``."""

    start: int
    end: int
    label: str


@dataclass(frozen=True)
class Passage:
    """A retrievable unit: one paragraph, part of a long one, or a few short ones merged."""

    id: str  # "<article_id>:<ordinal>", stable for a given article version
    article_id: str
    ordinal: int
    start: int
    end: int
    text: str
    sentences: tuple[Span, ...] = ()
    # Tagged at ingest when a tagger is configured; offsets into the article text.
    entities: tuple[Entity, ...] = ()


@lru_cache(maxsize=65536)
def published_day(published: str | None) -> float:
    """The day number of an ISO date (its first ten characters), NaN when there is none."""
    try:
        return float(date.fromisoformat((published or "")[:10]).toordinal())
    except ValueError:
        return math.nan


@dataclass(frozen=True)
class Where:
    """Which articles a search may return; unset fields do not filter. ``outlet`` is compared
    whole and ``author`` as a substring of the byline, both ignoring case; the dates are ISO
    ``YYYY-MM-DD`` bounds, inclusive, and an undated article fails either bound."""

    article_ids: frozenset[str] | None = None
    outlet: str | None = None
    author: str | None = None
    published_from: str | None = None
    published_to: str | None = None

    @property
    def only_ids(self) -> bool:
        """Whether the article ids are the only field set (the chat page's one-article pick)."""
        return self.article_ids is not None and all(
            getattr(self, f) is None for f in self.__dataclass_fields__ if f != "article_ids"
        )
