"""Conversations and feedback on their answers."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from api.deps import ServicesDep
from api.schemas import (
    API_ERRORS,
    BODY_NOT_TEXT,
    BODY_TOO_LARGE,
    ConversationOut,
    FeedbackIn,
    TurnOut,
    errors,
)
from qa.conversation.history import resolve_turns

router = APIRouter(prefix="/api", tags=["conversations"], responses=API_ERRORS)


@router.get("/conversations/{conversation_id}", responses=errors({404: "Unknown id."}))
def get_conversation(conversation_id: str, services: ServicesDep) -> ConversationOut:
    """Return a conversation's turns with their answers and citations as the corpus holds them
    now, oldest first."""
    turns = services.conversations.turns(conversation_id)
    if not turns:
        raise HTTPException(404, f"no conversation with id {conversation_id!r}")
    history = resolve_turns(turns, services.corpus)
    return ConversationOut(id=conversation_id, turns=[TurnOut.of(t) for t in history])


@router.post(
    "/feedback",
    responses={
        **errors({404: "Unknown conversation or turn."}),
        **BODY_NOT_TEXT,
        **BODY_TOO_LARGE,
    },
)
def feedback(body: FeedbackIn, services: ServicesDep) -> dict[str, str]:
    """Record thumbs up or down on an answer; a later rating of the same turn replaces it."""
    services.conversations.rate(body.conversation_id, body.turn, body.rating)
    return {"status": "recorded"}
