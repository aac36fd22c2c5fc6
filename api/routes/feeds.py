"""The news feeds polled for articles: listed openly; added, removed and refreshed with the
write key."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from fastapi.concurrency import run_in_threadpool

from api.deps import WriterDep
from api.feed_schemas import FeedIn, FeedList, FeedOut, PollResult
from api.schemas import API_ERRORS, BODY_NOT_TEXT, WRITER_ERRORS, errors
from index.errors import FetchError
from index.feeds import FeedError, RoundReport, check_feed_host
from service.poller import FeedService

router = APIRouter(prefix="/api/feeds", tags=["feeds"], responses=API_ERRORS)


async def get_feeds(request: Request) -> FeedService:
    """The feed service built in the app's lifespan."""
    feeds: FeedService = request.app.state.feeds
    return feeds


FeedsDep = Annotated[FeedService, Depends(get_feeds)]
FeedId = Annotated[int, Path(ge=1, le=2**53, description="The feed's id.")]


def _poll_result(report: RoundReport) -> PollResult:
    return PollResult(
        seconds=round(report.seconds, 3),
        requests=report.requests,
        not_modified=report.not_modified,
        stored=report.stored,
        feeds=[
            {
                "feed_id": f.feed_id,
                "url": f.url,
                "outcome": f.outcome,
                "requests": f.requests,
                "entries": f.entries,
                "new_entries": f.new_entries,
                "stored": f.stored,
                "error": f.error,
            }
            for f in report.feeds
        ],
    )


@router.get("")
def list_feeds(feeds: FeedsDep) -> FeedList:
    """List the feeds with their last fetch, last error, entries seen and articles stored."""
    return FeedList(feeds=[FeedOut.of(f) for f in feeds.registry.feeds()])


@router.post(
    "",
    status_code=201,
    dependencies=[WriterDep],
    responses={
        **errors({409: "The feed is registered already."}),
        **BODY_NOT_TEXT,
        **WRITER_ERRORS,
    },
)
async def add_feed(body: FeedIn, feeds: FeedsDep) -> FeedOut:
    """Register a feed and fetch it at once; the feed's fetch outcome is in the answer."""
    try:
        check_feed_host(body.url, feeds.fetcher.allow_private)
    except FetchError as exc:
        raise HTTPException(422, str(exc)) from exc
    interval = body.interval_minutes * 60 if body.interval_minutes else None
    try:
        feed = await run_in_threadpool(feeds.registry.add, body.url, interval)
    except FeedError as exc:
        status = 409 if "registered already" in str(exc) else 422
        raise HTTPException(status, str(exc)) from exc
    await run_in_threadpool(feeds.poll, only=[feed.id])
    return FeedOut.of(feeds.registry.get(feed.id))


@router.delete(
    "/{feed_id}",
    dependencies=[WriterDep],
    responses={**errors({404: "No such feed."}), **WRITER_ERRORS},
)
def remove_feed(feed_id: FeedId, feeds: FeedsDep) -> FeedOut:
    """Stop polling a feed; the articles it brought stay."""
    try:
        return FeedOut.of(feeds.registry.remove(feed_id))
    except FeedError as exc:
        raise HTTPException(404, str(exc)) from exc


@router.post(
    "/{feed_id}/refresh",
    dependencies=[WriterDep],
    responses={**errors({404: "No such feed."}), **WRITER_ERRORS},
)
async def refresh_feed(feed_id: FeedId, feeds: FeedsDep) -> PollResult:
    """Fetch one feed now, whether or not it is due."""
    if feeds.registry.find(feed_id) is None:
        raise HTTPException(404, f"no feed {feed_id} is registered")
    return _poll_result(await run_in_threadpool(feeds.poll, only=[feed_id]))


@router.post(":refresh", dependencies=[WriterDep], responses=WRITER_ERRORS)
async def refresh_feeds(feeds: FeedsDep) -> PollResult:
    """Fetch every feed now, whether or not it is due."""
    return _poll_result(await run_in_threadpool(feeds.poll, force=True))
