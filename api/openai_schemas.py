"""Request and response bodies of the OpenAI-compatible routes (``/v1``), in the shapes of
OpenAI's chat-completions API, with the citations in an extra field, ``qa``.

Accepted and ignored (the answer is a quoted sentence, never sampled): ``temperature``,
``top_p``, ``max_tokens``, ``max_completion_tokens``, ``n`` (there is always one choice),
``stop``, ``seed``, ``presence_penalty``, ``frequency_penalty``, ``logit_bias``, ``logprobs``,
``top_logprobs``, ``user``, ``tools``, ``tool_choice``, ``parallel_tool_calls``,
``response_format``, ``stream_options`` (no usage is counted), ``modalities``, ``audio``,
``reasoning_effort``, ``metadata``, ``store``, ``service_tier``, ``prediction``,
``web_search_options``, and any other field; so are a message's ``name``, ``tool_calls`` and
non-text content parts.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from api.schemas import (
    AnswerSpanOut,
    CitationOut,
    FiltersIn,
    checked_question,
    valid_text,
)
from qa.answer import MAX_TOP_K
from qa.chat import ChatMessage, ChatTurn

MODEL_ID = "cited-answers"
# A transcript is replayed question by question; this many messages is far past any chat.
MAX_MESSAGES = 1000
MAX_PARTS = 100


class ContentPart(BaseModel):
    """A part of a message's content; only ``text`` parts are read."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(..., max_length=64, examples=["text"])
    text: str | None = None


class MessageIn(BaseModel):
    """One message of the conversation, oldest first."""

    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = Field(
        None, description="Text, or a list of parts of which the text ones are read."
    )

    @field_validator("content")
    @classmethod
    def _storable(cls, value: str | list[ContentPart] | None) -> str | list[ContentPart] | None:
        if isinstance(value, list):
            if len(value) > MAX_PARTS:
                raise ValueError(f"a message holds at most {MAX_PARTS} content parts")
            for part in value:
                if part.text is not None:
                    valid_text(part.text, "content")
        elif value is not None:
            valid_text(value, "content")
        return value

    def text(self) -> str:
        """The message's text: its text parts joined by newlines."""
        if self.content is None or isinstance(self.content, str):
            return self.content or ""
        return "\n".join(p.text for p in self.content if p.type == "text" and p.text)


class QaOptions(BaseModel):
    """This service's own options: how many citations, which articles, which conversation."""

    model_config = ConfigDict(extra="forbid")

    top_k: int = Field(5, ge=1, le=MAX_TOP_K, description="How many citations to return.")
    filters: FiltersIn | None = Field(None, description="Answer only from matching articles.")
    conversation_id: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description="Ask and store the turn in this conversation (as /api/ask does); its "
        "stored turns, not the earlier messages, are then the context.",
    )


class ChatCompletionRequest(BaseModel):
    """OpenAI's chat-completions request: the last user message is the question, the user
    messages before it the conversation it follows. Other OpenAI fields are accepted and
    ignored."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "model": MODEL_ID,
                    "messages": [
                        {"role": "user", "content": "Who is China's ambassador to Pakistan?"}
                    ],
                }
            ]
        },
    )

    model: str = Field(MODEL_ID, max_length=200, description="Any name; echoed back.")
    messages: list[MessageIn] = Field(..., min_length=1, max_length=MAX_MESSAGES)
    stream: bool | None = Field(
        None, description="Send the answer as Server-Sent Events of chat.completion.chunk."
    )
    qa: QaOptions | None = Field(None, description="This service's options (extra to OpenAI's).")

    @model_validator(mode="after")
    def _asks_a_question(self) -> ChatCompletionRequest:
        asked = [m for m in self.messages if m.role == "user"]
        if not asked:
            raise ValueError("no message has the role 'user': the last one is the question")
        checked_question(asked[-1].text())
        return self

    def transcript(self) -> list[ChatMessage]:
        """The messages as the chat turn reads them."""
        return [ChatMessage(m.role, m.text()) for m in self.messages]


class CitedAnswer(BaseModel):
    """The answer and its citations, structured, as /api/ask gives them (offsets into the
    article text): the extra field ``qa`` of a completion, and of a stream's last chunk."""

    question: str
    answered: bool
    answer: str | None = Field(description="The quoted sentence and its marker; null: refused.")
    answer_span: AnswerSpanOut | None
    citations: list[CitationOut]
    resolved_query: str = Field(
        description="What was searched: the question, or it read after the questions before."
    )
    conversation_id: str | None = Field(description="Set when the turn was stored.")
    turn: int | None = Field(description="The stored turn's index, when stored.")

    @classmethod
    def of(cls, turn: ChatTurn) -> CitedAnswer:
        """Shape a chat turn for the wire."""
        answer = turn.answer
        span = answer.span
        return cls(
            question=answer.question,
            answered=answer.answered,
            answer=answer.text,
            answer_span=None
            if span is None
            else AnswerSpanOut(start=span.start, end=span.end, text=span.text),
            citations=[CitationOut.of(c) for c in answer.citations],
            resolved_query=turn.resolved,
            conversation_id=turn.conversation_id,
            turn=turn.index,
        )


class AssistantMessage(BaseModel):
    """The reply: the quoted answer with its marker and the sources, in Markdown."""

    role: Literal["assistant"] = "assistant"
    content: str
    refusal: None = None


class Choice(BaseModel):
    """The one choice of a completion."""

    index: int = 0
    message: AssistantMessage
    finish_reason: Literal["stop"] = "stop"
    logprobs: None = None


class ChatCompletion(BaseModel):
    """OpenAI's ``chat.completion``, with ``qa`` holding the structured citations."""

    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    qa: CitedAnswer


class Delta(BaseModel):
    """What a chunk adds to the reply."""

    role: Literal["assistant"] | None = None
    content: str | None = None


class ChunkChoice(BaseModel):
    """The one choice of a chunk."""

    index: int = 0
    delta: Delta
    finish_reason: Literal["stop"] | None = None
    logprobs: None = None


class ChatCompletionChunk(BaseModel):
    """OpenAI's ``chat.completion.chunk``; the last one carries ``qa``."""

    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    qa: CitedAnswer | None = None


class ModelCard(BaseModel):
    """A model this server answers as."""

    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str


class ModelList(BaseModel):
    """The models (one: the answering pipeline)."""

    object: Literal["list"] = "list"
    data: list[ModelCard]


class OpenAIErrorDetail(BaseModel):
    """What went wrong, as OpenAI words its errors."""

    message: str
    type: str = Field(examples=["invalid_request_error"])
    param: str | None = Field(None, description="The request field at fault, when one is.")
    code: str | None = None


class OpenAIError(BaseModel):
    """Every error answer of the /v1 routes."""

    error: OpenAIErrorDetail


def openai_errors(described: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the /v1 routes' error answers."""
    return {code: {"model": OpenAIError, "description": text} for code, text in described.items()}


V1_ERRORS = openai_errors(
    {
        400: "A malformed request: the message names the field and the rule.",
        413: "The body is over the limit (QA_MAX_BODY_BYTES).",
        429: "Too many requests from this address (when QA_RATE_LIMIT is set).",
    }
)
