"""Conversations and feedback on their answers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response

from api.conversation_schemas import MAX_TURN, ConversationOut, FeedbackIn, TurnOut
from api.deps import ServicesDep, WorkDep
from api.schemas import API_ERRORS, BODY_NOT_TEXT, BODY_TOO_LARGE, BUSY, errors
from qa.conversation.history import resolve_turns

router = APIRouter(prefix="/api", tags=["conversations"], responses=API_ERRORS)


# A page reads every article its citations name (to check them against the corpus as it is now):
# like a question, it waits for a slot of work (``WorkDep``), and a page holds at most 100 turns.
@router.get(
    "/conversations/{conversation_id}",
    response_model=ConversationOut,
    responses={**errors({404: "Unknown id."}), **BUSY},
)
async def get_conversation(
    conversation_id: str,
    services: ServicesDep,
    work: WorkDep,
    limit: Annotated[int, Query(ge=1, le=100, description="Turns per page, the latest.")] = 20,
    before: Annotated[
        int | None, Query(ge=0, le=MAX_TURN, description="Only turns before this index.")
    ] = None,
) -> Response:
    """Return a page of a conversation's turns (the latest, or those before a turn), oldest
    first, with their answers and citations as the corpus holds them now."""

    def page() -> bytes:
        store = services.conversations
        turns = store.turns(conversation_id, limit=limit + 1, before=before)
        if not turns and (before is None or store.last_turn(conversation_id) is None):
            raise HTTPException(404, f"no conversation with id {conversation_id!r}")
        shown = turns[-limit:]
        history = resolve_turns(shown, services.corpus)
        out = ConversationOut(
            id=conversation_id,
            turns=[TurnOut.of(t) for t in history],
            has_more=len(turns) > limit,
        )
        return out.model_dump_json().encode("utf-8")

    return Response(await work.run(page), media_type="application/json")


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
