"""Questions and passage search."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import ServicesDep
from api.schemas import MAX_QUESTION_CHARS, AskRequest, AskResponse, CitationOut, SearchResponse
from qa.models import Citation

router = APIRouter(prefix="/api", tags=["questions"])


# Plain ``def`` routes: FastAPI runs them in its thread pool, which keeps the model call off the
# event loop.
@router.post("/ask")
def ask(body: AskRequest, services: ServicesDep) -> AskResponse:
    """Answer a question with a sentence quoted from the articles, and cited passages."""
    answer = services.answerer.ask(body.question, body.top_k)
    return AskResponse.of(answer, body.conversation_id or uuid.uuid4().hex)


@router.get("/search")
def search(
    services: ServicesDep,
    q: Annotated[str, Query(min_length=1, max_length=MAX_QUESTION_CHARS, description="Query.")],
    k: Annotated[int, Query(ge=1, le=100, description="How many passages.")] = 10,
) -> SearchResponse:
    """Return the passages ranked for a query, without picking an answer."""
    hits = services.answerer.search(q, k)
    return SearchResponse(
        query=q.strip(),
        citations=[CitationOut.of(Citation(rank=i + 1, hit=h)) for i, h in enumerate(hits)],
    )
