"""Timelines: the dated sentences the articles hold about a subject, oldest first.

Each event is one sentence that names the subject, quoted with its offsets, and dated by the
day it states ("on Tuesday", read against its article's publication day) or else by the day its
article was published (``provenance``). A sentence that several articles repeat (an update
carries most of the first report) is one event, with the other articles as ``also``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

from index.chunk import split_sentences
from index.models import Article, Span
from index.text import content_terms
from qa.answer import Answerer
from qa.models import Filters
from qa.timewords import (
    DAY,
    MONTH,
    WEEKDAY,
    EmptyPeriod,
    TimeWindow,
    join_window,
    read_time,
    stated_day,
)

Provenance = Literal["stated", "published"]

# Passages read for one timeline, and the events it may hold.
POOL = 40
MAX_EVENTS = 50
# Two sentences are one event when their content words overlap this much (Jaccard): on the
# same day, or on any day when they are near-verbatim (a repeated line in an update).
SAME_DAY_OVERLAP = 0.5
REPEATED_OVERLAP = 0.8

# "Timeline of CPEC", "what happened with the strike": the subject is what follows.
_ASKS = re.compile(
    r"^\s*(?:(?:show|give|make)\s+(?:me\s+)?)?(?:a\s+|the\s+)?(?:timeline|chronology|history)"
    r"\s+(?:of|for|on)\s+|^\s*what\s+(?:has\s+|have\s+)?happened\s+(?:with|to)\s+",
    re.IGNORECASE,
)


def asks_for_timeline(question: str) -> bool:
    """True when ``question`` asks for a timeline ("timeline of ...", "what happened with ...")."""
    return _ASKS.search(question) is not None


def subject_of(query: str) -> str:
    """The subject of a timeline request: ``query`` without "timeline of" and the like."""
    subject = _ASKS.sub("", query, count=1).strip().rstrip("?.! ")
    return subject or query.strip()


@dataclass(frozen=True)
class Mention:
    """One article's sentence: offsets into its text, and the article (metadata and date)."""

    article: Article
    sentence: Span


@dataclass(frozen=True)
class TimelineEvent:
    """A dated sentence about the subject, and the other articles that repeat it."""

    day: date
    provenance: Provenance
    mention: Mention
    also: tuple[Mention, ...] = ()


@dataclass(frozen=True)
class Timeline:
    """The events about ``subject``, oldest first, drawn from ``time_window`` when the request
    named a period; ``period_empty`` when no article can be from it."""

    query: str
    subject: str
    events: tuple[TimelineEvent, ...]
    time_window: TimeWindow | None = None
    period_empty: bool = False


def build_timeline(
    answerer: Answerer,
    query: str,
    *,
    filters: Filters | None = None,
    as_of: date | None = None,
    limit: int = MAX_EVENTS,
) -> Timeline:
    """The timeline of ``query``'s subject: the sentences of its best passages that name the
    subject, dated and merged, oldest first (at most ``limit``). A period in the query ("this
    year") narrows ``filters`` as it does for a question."""
    subject = subject_of(query)
    timed = read_time(subject, as_of or date.today())
    try:
        narrowed = join_window(filters, timed.window)
    except EmptyPeriod:
        return Timeline(query, timed.topic, (), timed.window, period_empty=True)
    snapshot = answerer.corpus.snapshot
    hits = answerer.search(timed.topic, POOL, filters=narrowed)
    terms = set(content_terms(timed.topic))
    wanted = math.ceil(len(terms) / 2)
    expanded = set(snapshot.with_acronyms(tuple(terms)))
    events: list[TimelineEvent] = []
    seen: set[tuple[str, int]] = set()
    for hit in hits:
        published = _day(hit.article.published)
        if published is None:
            continue  # nothing to read "on Tuesday" against, nor to date it by
        passage = hit.passage
        for span in split_sentences(passage.text):
            start = passage.start + span.start
            if (passage.article_id, start) in seen:
                continue
            seen.add((passage.article_id, start))
            if len(expanded & set(content_terms(span.text))) < max(wanted, 1):
                continue
            sentence = Span(start, passage.start + span.end, span.text)
            stated = stated_day(span.text, published)
            # A day after publication is a plan ("will reopen on 22 September"), not an event.
            if stated is not None and stated <= published:
                event = TimelineEvent(stated, "stated", Mention(hit.article, sentence))
            else:
                event = TimelineEvent(published, "published", Mention(hit.article, sentence))
            events.append(event)
    if not hits and timed.window is not None:
        return Timeline(query, timed.topic, (), timed.window, period_empty=True)
    merged = _merged(events)
    merged.sort(key=lambda e: (e.day, e.mention.article.published or "", e.mention.sentence.start))
    return Timeline(query, timed.topic, tuple(merged[:limit]), timed.window)


def _day(published: str | None) -> date | None:
    if not published:
        return None
    try:
        return date.fromisoformat(published[:10])
    except ValueError:
        return None


_DATE_WORDS = re.compile(rf"\b(?:{DAY}|{WEEKDAY}|{MONTH}|yesterday|today|\d+)\b", re.IGNORECASE)


def _event_words(sentence: str) -> set[str]:
    """The content words of a sentence less its date words: "on Tuesday" and "on 3 December"
    may name one day, and must not make two reports of it look different."""
    return set(content_terms(_DATE_WORDS.sub(" ", sentence)))


def _overlap(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def _merged(events: list[TimelineEvent]) -> list[TimelineEvent]:
    """One event per happening: a sentence joins an earlier-kept one that says the same (see
    ``SAME_DAY_OVERLAP``); the kept one is the earliest dated, a stated day before a
    publication day, and its article the first to report it."""
    events = sorted(
        events,
        key=lambda e: (
            e.day,
            e.provenance != "stated",
            e.mention.article.published or "",
        ),
    )
    kept: list[tuple[TimelineEvent, set[str]]] = []
    for event in events:
        words = _event_words(event.mention.sentence.text)
        for i, (other, other_words) in enumerate(kept):
            overlap = _overlap(words, other_words)
            if overlap >= REPEATED_OVERLAP or (
                other.day == event.day and overlap >= SAME_DAY_OVERLAP
            ):
                if event.mention.article.id != other.mention.article.id:
                    kept[i] = (
                        TimelineEvent(
                            other.day, other.provenance, other.mention, (*other.also, event.mention)
                        ),
                        other_words,
                    )
                break
        else:
            kept.append((event, words))
    return [event for event, _ in kept]
