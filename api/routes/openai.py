"""OpenAI's chat-completions API over the answering pipeline, for the clients that speak it.

Answers are quoted, not generated, so a stream has nothing to wait for between pieces: the turn
is answered first (through the question limiter, as /api/ask is), then sent as chunks, the
answer a word at a time and the sources a line at a time, the last chunk with the citations.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator

from fastapi import APIRouter, Response
from fastapi.responses import StreamingResponse

from api.deps import ServicesDep, WorkDep
from api.openai_schemas import (
    MODEL_ID,
    V1_ERRORS,
    AssistantMessage,
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    Choice,
    ChunkChoice,
    CitedAnswer,
    Delta,
    ModelCard,
    ModelList,
    QaOptions,
    openai_errors,
)
from qa.chat import ChatReply, ChatTurn, chat_reply, chat_turn

router = APIRouter(prefix="/v1", tags=["openai"], responses=V1_ERRORS)
STARTED = int(time.time())

_STREAM = {
    "description": "The completion; with `stream: true`, Server-Sent Events of "
    "`chat.completion.chunk` ending with `data: [DONE]`.",
    # Before OpenAPI 3.2, an event stream's schema describes each event.
    "content": {
        "text/event-stream": {
            "schema": {
                "type": "object",
                "properties": {
                    "data": {
                        "type": "string",
                        "description": "A chat.completion.chunk as JSON, or [DONE] at the end.",
                    }
                },
                "required": ["data"],
            }
        }
    },
}


@router.get("/models")
async def models() -> ModelList:
    """List the one model: the answering pipeline, which quotes the articles."""
    return ModelList(data=[ModelCard(id=MODEL_ID, created=STARTED, owned_by="cited-answers")])


@router.post(
    "/chat/completions",
    response_model=ChatCompletion,
    responses={
        200: _STREAM,
        **openai_errors(
            {
                404: "Unknown conversation id (qa.conversation_id).",
                503: "Too many questions are waiting already: retry after Retry-After seconds.",
            }
        ),
    },
)
async def chat_completions(
    body: ChatCompletionRequest, services: ServicesDep, work: WorkDep
) -> Response:
    """Answer the last user message with a quoted sentence and its sources (OpenAI's schema)."""
    options = body.qa or QaOptions()

    def answer() -> ChatTurn:
        return chat_turn(
            services.answerer,
            services.conversations,
            body.transcript(),
            top_k=options.top_k,
            filters=options.filters.to_filters() if options.filters else None,
            conversation_id=options.conversation_id,
            followup_specificity=services.settings.followup_specificity,
        )

    turn: ChatTurn = await work.run(answer)
    reply, cited = chat_reply(turn.answer), CitedAnswer.of(turn)
    completion_id, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
    if body.stream:
        chunks = _chunks(completion_id, created, body.model, reply, cited)
        return StreamingResponse(
            chunks,
            media_type="text/event-stream",
            # nginx (deploy/nginx.conf) passes the events on as they come.
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    completion = ChatCompletion(
        id=completion_id,
        created=created,
        model=body.model,
        choices=[Choice(message=AssistantMessage(content=reply.text))],
        qa=cited,
    )
    return Response(completion.model_dump_json(), media_type="application/json")


async def _chunks(
    completion_id: str, created: int, model: str, reply: ChatReply, cited: CitedAnswer
) -> AsyncIterator[bytes]:
    """The reply as Server-Sent Events: the role, the pieces, the end with the citations."""

    def event(delta: Delta, finish: bool = False) -> bytes:
        chunk = ChatCompletionChunk(
            id=completion_id,
            created=created,
            model=model,
            choices=[ChunkChoice(delta=delta, finish_reason="stop" if finish else None)],
            qa=cited if finish else None,
        )
        return f"data: {chunk.model_dump_json(exclude={'qa'} if not finish else None)}\n\n".encode()

    yield event(Delta(role="assistant", content=""))
    for piece in reply.pieces():
        yield event(Delta(content=piece))
    yield event(Delta(), finish=True)
    yield b"data: [DONE]\n\n"
