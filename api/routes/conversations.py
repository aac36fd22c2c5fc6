"""Conversations and feedback on their answers."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from api.deps import ServicesDep
from api.schemas import CitationOut, ConversationOut, FeedbackIn, TurnOut

router = APIRouter(prefix="/api", tags=["conversations"])


@router.get("/conversations/{conversation_id}", responses={404: {"description": "Unknown id."}})
def get_conversation(conversation_id: str, services: ServicesDep) -> ConversationOut:
    """Return a conversation's turns with their answers and citations, oldest first."""
    turns = services.conversations.turns(conversation_id)
    if not turns:
        raise HTTPException(404, f"no conversation with id {conversation_id!r}")
    return ConversationOut(
        id=conversation_id,
        turns=[
            TurnOut(
                question=t.question,
                resolved_query=t.resolved,
                answered=t.answered,
                answer=t.answer,
                citations=[CitationOut.model_validate(c) for c in t.citations],
                created_at=t.created_at,
                feedback=t.feedback,
            )
            for t in turns
        ],
    )


@router.post("/feedback", responses={404: {"description": "Unknown conversation or turn."}})
def feedback(body: FeedbackIn, services: ServicesDep) -> dict[str, str]:
    """Record thumbs up or down on an answer; a later rating of the same turn replaces it."""
    services.conversations.rate(body.conversation_id, body.turn, body.rating)
    return {"status": "recorded"}
