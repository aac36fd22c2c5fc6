"""Timelines: dated events about a subject, oldest first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import ServicesDep, WorkDep
from api.schemas import (
    API_ERRORS,
    BUSY,
    MAX_QUESTION_CHARS,
    Day,
    FiltersIn,
    check_text,
)
from api.timeline_schemas import TimelineResponse
from qa.timeline import MAX_EVENTS, build_timeline

router = APIRouter(prefix="/api", tags=["questions"], responses=API_ERRORS)


@router.get("/timeline", response_model=TimelineResponse, responses=BUSY)
async def timeline(
    services: ServicesDep,
    work: WorkDep,
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=MAX_QUESTION_CHARS,
            description='The subject, e.g. "timeline of the port strike" or "CPEC this year".',
        ),
    ],
    limit: Annotated[int, Query(ge=1, le=MAX_EVENTS, description="Most events.")] = MAX_EVENTS,
    article_id: Annotated[list[str] | None, Query(description="Only these articles.")] = None,
    source: Annotated[str | None, Query(min_length=1, description="Outlet, any case.")] = None,
    author: Annotated[str | None, Query(min_length=1, description="Byline name.")] = None,
    published_from: Annotated[Day | None, Query(description="From this day, YYYY-MM-DD.")] = None,
    published_to: Annotated[Day | None, Query(description="To this day, YYYY-MM-DD.")] = None,
    as_of: Annotated[
        Day | None, Query(description="Day relative times are read against; default today.")
    ] = None,
) -> Response:
    """Return dated events about a subject, oldest first, each with its sentence and citation."""
    filters = FiltersIn.from_query(article_id, source, author, published_from, published_to)
    query = check_text(q.strip(), "q")

    def built() -> bytes:
        found = build_timeline(services.answerer, query, filters=filters, as_of=as_of, limit=limit)
        return TimelineResponse.of(found).model_dump_json().encode("utf-8")

    return Response(await work.run(built), media_type="application/json")
