"""Response bodies of timelines: dated events and the articles that mention them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from api.schemas import NO_ARTICLES_IN_PERIOD, TimeWindowOut
from qa.timeline import Mention, Timeline, TimelineEvent


class TimelineMentionOut(BaseModel):
    """One article's sentence: ``start``/``end`` are offsets into the article text."""

    article_id: str
    title: str
    outlet: str | None
    published: str | None
    url: str | None
    start: int
    end: int
    sentence: str

    @classmethod
    def of(cls, mention: Mention) -> TimelineMentionOut:
        """Shape a mention for the wire."""
        article = mention.article
        return cls(
            article_id=article.id,
            title=article.title,
            outlet=article.outlet,
            published=article.published,
            url=article.url,
            start=mention.sentence.start,
            end=mention.sentence.end,
            sentence=mention.sentence.text,
        )


class TimelineEventOut(TimelineMentionOut):
    """A dated event: its sentence and citation, and the other articles that repeat it."""

    date: str = Field(description="YYYY-MM-DD.")
    provenance: Literal["stated", "published"] = Field(
        description="stated: a day the sentence names, read against its article's date;"
        " published: the article's publication day."
    )
    also: list[TimelineMentionOut] = Field(description="The same event in other articles.")

    @classmethod
    def of_event(cls, event: TimelineEvent) -> TimelineEventOut:
        """Shape an event for the wire."""
        return cls(
            **TimelineMentionOut.of(event.mention).model_dump(),
            date=event.day.isoformat(),
            provenance=event.provenance,
            also=[TimelineMentionOut.of(m) for m in event.also],
        )


class TimelineResponse(BaseModel):
    """Dated events about the subject, oldest first."""

    query: str
    subject: str = Field(description="What was searched: the query without its time words.")
    time_window: TimeWindowOut | None = None
    refusal: str | None = None
    events: list[TimelineEventOut]

    @classmethod
    def of(cls, timeline: Timeline) -> TimelineResponse:
        """Shape a timeline for the wire."""
        return cls(
            query=timeline.query,
            subject=timeline.subject,
            time_window=TimeWindowOut.of(timeline.time_window, matched=not timeline.period_empty),
            refusal=NO_ARTICLES_IN_PERIOD if timeline.period_empty else None,
            events=[TimelineEventOut.of_event(e) for e in timeline.events],
        )
