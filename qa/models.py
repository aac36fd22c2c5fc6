"""Plain data of the answering pipeline."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from index.models import Article, Passage, Span, Where

if TYPE_CHECKING:
    from qa.timewords import TimeWindow


@dataclass(frozen=True)
class Filters:
    """Which articles a question may be answered from; unset fields do not filter.

    ``source`` matches the outlet and ``author`` a name within the byline, both ignoring case;
    the dates are ISO ``YYYY-MM-DD`` bounds, inclusive, and an article without a date is left
    out when either is given.
    """

    article_ids: frozenset[str] | None = None
    source: str | None = None
    author: str | None = None
    published_from: str | None = None
    published_to: str | None = None

    @property
    def empty(self) -> bool:
        """True when no field filters."""
        return all(getattr(self, f) is None for f in self.__dataclass_fields__)

    def where(self) -> Where:
        """The filter as the index layer takes it (``source`` is the outlet)."""
        return Where(
            self.article_ids, self.source, self.author, self.published_from, self.published_to
        )


@dataclass(frozen=True)
class Hit:
    """A retrieved passage with its fused score and the per-method scores behind it."""

    position: int  # the passage's slot in the snapshot it came from
    rowid: int  # the passage's row id in the database
    passage: Passage
    article: Article  # metadata only; ``text`` may be empty
    score: float
    dense: float | None = None  # cosine of question and passage
    sentence: float | None = None  # cosine of question and the passage's closest sentence
    lexical: float | None = None  # BM25


@dataclass(frozen=True)
class Copy:
    """Another outlet's copy of a cited story (``qa/stories.py``)."""

    article_id: str
    outlet: str | None
    url: str | None
    published: str | None


@dataclass(frozen=True)
class Citation:
    """A numbered reference to a passage, with the best sentence inside it if one was picked,
    and the other copies of its story."""

    rank: int
    hit: Hit
    highlight: Span | None = None
    also_in: tuple[Copy, ...] = ()


@dataclass(frozen=True)
class Answer:
    """The reply to a question: the quoted sentence (or None when refused) and its citations."""

    question: str
    answered: bool
    text: str | None
    citations: tuple[Citation, ...]
    # The exact answer inside the answer sentence (a name, a date, an expansion...), offsets
    # into the text of the article the highlighted citation quotes; None when none is found.
    span: Span | None = None
    # The publication days the question named (or its conversation's turn before did), which
    # the answer was drawn from; None for a question that names no period.
    time_window: TimeWindow | None = None
    # Refused because ``time_window`` and the date filters share no day.
    period_empty: bool = False
    # No article was published in ``time_window``: answered from every date instead.
    widened: bool = False
