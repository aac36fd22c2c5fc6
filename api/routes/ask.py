"""Questions and passage search."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import ServicesDep, WorkDep
from api.schemas import (
    API_ERRORS,
    BODY_NOT_TEXT,
    BODY_TOO_LARGE,
    BUSY,
    MAX_QUESTION_CHARS,
    AskRequest,
    AskResponse,
    CitationOut,
    Day,
    FiltersIn,
    SearchResponse,
    check_text,
    errors,
)
from qa.conversation.turn import ask_in_conversation

router = APIRouter(prefix="/api", tags=["questions"], responses=API_ERRORS)


# The whole question runs in a worker thread, a few at a time (``WorkDep``), never on the event
# loop: the model call, the answer, the stored turn, and the JSON of the response, which is
# made once there and sent as it is (``response_model`` only documents it).
@router.post(
    "/ask",
    response_model=AskResponse,
    responses={
        **errors({404: "Unknown conversation id."}),
        **BODY_NOT_TEXT,
        **BODY_TOO_LARGE,
        **BUSY,
    },
)
async def ask(body: AskRequest, services: ServicesDep, work: WorkDep) -> Response:
    """Answer a question with a sentence quoted from the articles, and cited passages."""

    def answer() -> bytes:
        turn = ask_in_conversation(
            services.answerer,
            services.conversations,
            body.question,
            top_k=body.top_k,
            filters=body.filters.to_filters() if body.filters else None,
            conversation_id=body.conversation_id,
            followup_specificity=services.settings.followup_specificity,
            known_only=True,
            as_of=body.as_of,
        )
        response = AskResponse.of(turn.answer, turn.conversation_id, turn.index, turn.resolved)
        return response.model_dump_json().encode("utf-8")

    return Response(await work.run(answer), media_type="application/json")


@router.get("/search", response_model=SearchResponse, responses=BUSY)
async def search(
    services: ServicesDep,
    work: WorkDep,
    q: Annotated[str, Query(min_length=1, max_length=MAX_QUESTION_CHARS, description="Query.")],
    k: Annotated[int, Query(ge=1, le=100, description="How many passages.")] = 10,
    article_id: Annotated[list[str] | None, Query(description="Only these articles.")] = None,
    source: Annotated[str | None, Query(min_length=1, description="Outlet, any case.")] = None,
    author: Annotated[str | None, Query(min_length=1, description="Byline name.")] = None,
    published_from: Annotated[Day | None, Query(description="From this day, YYYY-MM-DD.")] = None,
    published_to: Annotated[Day | None, Query(description="To this day, YYYY-MM-DD.")] = None,
    collapse: Annotated[
        bool, Query(description="One passage per story: other outlets' copies in also_in.")
    ] = True,
) -> Response:
    """Return the passages ranked for a query, without picking an answer."""
    filters = FiltersIn.from_query(article_id, source, author, published_from, published_to)
    query = check_text(q.strip(), "q")

    def found() -> bytes:
        cited = services.answerer.search_citations(query, k, filters=filters, collapse=collapse)
        citations = [CitationOut.of(c) for c in cited]
        return SearchResponse(query=query, citations=citations).model_dump_json().encode("utf-8")

    return Response(await work.run(found), media_type="application/json")
