"""The wire shapes of pages fetched by URL and of news feeds."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class UrlIn(BaseModel):
    """A page to fetch and store: its URL, and nothing else."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(..., min_length=1, description="An http or https page.")
    id: str | None = Field(None, description="Stable id; derived from the URL if absent.")


class FeedIn(BaseModel):
    """A feed to register."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(..., min_length=1, description="An RSS or Atom feed's http(s) address.")
    interval_minutes: float | None = Field(
        None, gt=0, description="How often to fetch it; default QA_FEED_INTERVAL_MINUTES (15)."
    )


class FeedOut(BaseModel):
    """A registered feed and how its fetches went."""

    id: int
    url: str
    title: str | None
    interval_minutes: float
    added: str
    last_fetch: str | None
    last_outcome: str | None
    last_error: str | None
    entries_seen: int
    articles_stored: int

    @classmethod
    def of(cls, feed: Any) -> FeedOut:
        """Shape an ``index.feeds.Feed`` for the wire."""
        return cls(
            id=feed.id,
            url=feed.url,
            title=feed.title,
            interval_minutes=feed.interval_seconds / 60,
            added=feed.added,
            last_fetch=feed.last_fetch,
            last_outcome=feed.last_outcome,
            last_error=feed.last_error,
            entries_seen=feed.entries_seen,
            articles_stored=feed.articles_stored,
        )


class FeedList(BaseModel):
    """Every registered feed."""

    feeds: list[FeedOut]


class FeedPoll(BaseModel):
    """What fetching one feed did."""

    feed_id: int
    url: str
    outcome: str
    requests: int
    entries: int
    new_entries: int
    stored: int
    error: str | None


class PollResult(BaseModel):
    """What a polling round did."""

    seconds: float
    requests: int
    not_modified: int
    stored: int
    feeds: list[FeedPoll]
