"""Request and response bodies of the HTTP API: the shared checks, questions and search,
and the error answers every route documents."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from index.errors import InvalidArticleError
from index.sources import check_text as unicode_text
from qa.answer import MAX_TOP_K
from qa.errors import QuestionError
from qa.models import Answer, Citation, Filters
from qa.timewords import TimeWindow

MAX_QUESTION_CHARS = 1000
MAX_NAME_CHARS = 200


def valid_text(value: str, field: str) -> str:
    """``value`` if it can be stored: no lone surrogates (JSON may spell them, UTF-8 cannot;
    the same check as an article's fields) and no NUL; raises ``ValueError`` naming the field
    otherwise."""
    try:
        unicode_text(field, value)
    except InvalidArticleError as exc:
        raise ValueError(str(exc)) from exc
    if "\x00" in value:
        raise ValueError(f"field {field!r} holds a NUL character")
    return value


def check_text(value: str, field: str) -> str:
    """``valid_text`` for query parameters: raises the ``QuestionError`` that answers 422."""
    try:
        return valid_text(value, field)
    except ValueError as exc:
        raise QuestionError(str(exc)) from exc


_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _written_day(value: object) -> object:
    """Only a day written ``YYYY-MM-DD`` (or a date) is a day: pydantic would also take a Unix
    timestamp that falls at midnight, and explain other numbers in terms of datetimes."""
    if isinstance(value, date) or (isinstance(value, str) and _DAY.fullmatch(value)):
        return value
    raise ValueError(f"a day is written YYYY-MM-DD, got {str(value)[:40]!r}")


# A publication day, as filters take it.
Day = Annotated[date, BeforeValidator(_written_day)]


class FiltersIn(BaseModel):
    """Restrict a question to some articles; fields left out do not filter."""

    model_config = ConfigDict(extra="forbid")

    article_ids: list[Annotated[str, Field(max_length=MAX_NAME_CHARS)]] | None = Field(
        None, min_length=1, max_length=1000, description="Only these articles."
    )
    source: str | None = Field(
        None, min_length=1, max_length=MAX_NAME_CHARS, description="Outlet name, any case."
    )
    author: str | None = Field(
        None, min_length=1, max_length=MAX_NAME_CHARS, description="A name in the byline."
    )
    published_from: Day | None = Field(None, description="First publication day, inclusive.")
    published_to: Day | None = Field(None, description="Last publication day, inclusive.")

    @field_validator("source", "author")
    @classmethod
    def _storable(cls, value: str | None, info: ValidationInfo) -> str | None:
        return None if value is None else valid_text(value, str(info.field_name))

    @field_validator("article_ids")
    @classmethod
    def _storable_ids(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else [valid_text(v, "article_ids") for v in value]

    @model_validator(mode="after")
    def _dates_in_order(self) -> FiltersIn:
        if self.published_from and self.published_to and self.published_from > self.published_to:
            raise ValueError("published_from must not be after published_to")
        return self

    def to_filters(self) -> Filters:
        """The pipeline's form."""
        return Filters(
            article_ids=frozenset(self.article_ids) if self.article_ids is not None else None,
            source=self.source,
            author=self.author,
            published_from=self.published_from.isoformat() if self.published_from else None,
            published_to=self.published_to.isoformat() if self.published_to else None,
        )

    @classmethod
    def from_query(
        cls,
        article_ids: list[str] | None,
        source: str | None,
        author: str | None,
        published_from: date | None,
        published_to: date | None,
    ) -> Filters:
        """The pipeline's filters from a GET route's query parameters; a value that does not
        validate is a ``QuestionError`` naming what is wrong."""
        try:
            checked = cls(
                article_ids=article_ids,
                source=source,
                author=author,
                published_from=published_from,
                published_to=published_to,
            )
        except ValidationError as exc:
            raise QuestionError(str(exc.errors()[0]["msg"]).removeprefix("Value error, ")) from exc
        return checked.to_filters()


class AskRequest(BaseModel):
    """A question, how many citations to return, and the conversation it belongs to."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(
        ...,
        description="The question, in plain words.",
        examples=["Who is China's ambassador to Pakistan?"],
    )
    top_k: int = Field(5, ge=1, le=MAX_TOP_K, description="How many citations to return.")
    conversation_id: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description="Continue this conversation; omit to start a new one.",
    )
    filters: FiltersIn | None = Field(None, description="Answer only from matching articles.")
    as_of: Day | None = Field(
        None,
        description='The day that relative times in the question ("last week") are read'
        " against, YYYY-MM-DD; default: today on the server's clock.",
    )

    @field_validator("question")
    @classmethod
    def _question_has_words(cls, value: str) -> str:
        return checked_question(value)


def checked_question(value: str) -> str:
    """The question stripped, if it can be asked: storable, with words, at most
    ``MAX_QUESTION_CHARS`` long; raises ``ValueError`` saying what is wrong otherwise."""
    value = valid_text(value.strip(), "question")
    if not value:
        raise ValueError("the question is empty: type a question")
    if len(value) > MAX_QUESTION_CHARS:
        raise ValueError(
            f"the question is {len(value)} characters long; the limit is {MAX_QUESTION_CHARS}"
        )
    return value


class CopyOut(BaseModel):
    """Another outlet's copy of a cited story."""

    article_id: str
    outlet: str | None
    url: str | None
    published: str | None


class CitationOut(BaseModel):
    """One cited passage; ``start``/``end`` and ``highlight`` are offsets into the article text."""

    rank: int
    article_id: str
    title: str
    author: str | None
    outlet: str | None
    published: str | None
    url: str | None
    passage_id: str
    text: str
    start: int
    end: int
    score: float
    highlight: tuple[int, int] | None
    also_in: list[CopyOut] = Field(
        default_factory=list,
        description="Other outlets' copies of the same story (syndicated), earliest first.",
    )

    @classmethod
    def of(cls, citation: Citation) -> CitationOut:
        """Shape a pipeline citation for the wire."""
        hit = citation.hit
        article = hit.article
        span = citation.highlight
        return cls(
            rank=citation.rank,
            article_id=article.id,
            title=article.title,
            author=article.author,
            outlet=article.outlet,
            published=article.published,
            url=article.url,
            passage_id=hit.passage.id,
            text=hit.passage.text,
            start=hit.passage.start,
            end=hit.passage.end,
            score=round(hit.score, 6),
            highlight=None if span is None else (span.start, span.end),
            also_in=[CopyOut(**vars(copy)) for copy in citation.also_in],
        )


class TimeWindowOut(BaseModel):
    """The publication days an answer was drawn from, as the question named them."""

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    from_: str = Field(alias="from", description="First publication day, inclusive.")
    to: str = Field(description="Last publication day, inclusive.")
    from_question: str = Field(
        description='The question\'s words for the period, e.g. "last week" (a follow-up'
        " that names none keeps the turn before's)."
    )
    matched: bool | None = Field(
        None,
        description="false: no article was published in the period, so the answer is drawn"
        " from every date; null where not recorded (stored turns).",
    )

    @classmethod
    def of(cls, window: TimeWindow | None, matched: bool | None = None) -> TimeWindowOut | None:
        """Shape a window for the wire (None stays None)."""
        if window is None:
            return None
        return cls(
            from_=window.start.isoformat(),
            to=window.end.isoformat(),
            from_question=window.phrase,
            matched=matched,
        )


NO_ARTICLES_IN_PERIOD = "no articles from that period"


class AnswerSpanOut(BaseModel):
    """The exact answer inside the answer sentence; offsets into the highlighted citation's
    article text, so ``text == article.text[start:end]``."""

    start: int
    end: int
    text: str


class AskResponse(BaseModel):
    """The answer sentence (null when the articles do not hold one) and the citations."""

    question: str
    answered: bool
    answer: str | None
    answer_span: AnswerSpanOut | None = Field(
        None,
        description="The exact answer (a name, a date, a number, an expansion...) inside the"
        " answer sentence, when the question asks for one and the sentence holds it.",
    )
    citations: list[CitationOut]
    conversation_id: str
    turn: int = Field(description="This turn's index in the conversation, from 0.")
    resolved_query: str = Field(
        description="What was searched: the question, or it read after the turn before."
    )
    time_window: TimeWindowOut | None = Field(
        None,
        description="The publication days the answer was drawn from, when the question (or"
        " the turn before) named a period; null otherwise.",
    )
    refusal: str | None = Field(
        None,
        description='Why nothing was answered when the reason is known: "no articles from'
        ' that period" when no article was published in time_window within the filters.',
    )

    @classmethod
    def of(
        cls, answer: Answer, conversation_id: str, turn: int = 0, resolved: str | None = None
    ) -> AskResponse:
        """Shape a pipeline answer for the wire."""
        return cls(
            question=answer.question,
            answered=answer.answered,
            answer=answer.text,
            answer_span=None
            if answer.span is None
            else AnswerSpanOut(start=answer.span.start, end=answer.span.end, text=answer.span.text),
            citations=[CitationOut.of(c) for c in answer.citations],
            conversation_id=conversation_id,
            turn=turn,
            resolved_query=resolved or answer.question,
            time_window=TimeWindowOut.of(answer.time_window, matched=not answer.widened),
            refusal=NO_ARTICLES_IN_PERIOD if answer.period_empty else None,
        )


class SearchResponse(BaseModel):
    """Ranked passages for a query, without answer logic."""

    query: str
    citations: list[CitationOut]


class FieldError(BaseModel):
    """One field of a malformed request and what is wrong with it."""

    loc: list[str | int] = Field(description='Where, e.g. ["body", "top_k"].')
    msg: str


class ErrorOut(BaseModel):
    """Every error answer: what was wrong, in one sentence a person can act on."""

    detail: str
    errors: list[FieldError] | None = Field(
        None, description="On 422 for a malformed request: each field at fault."
    )


def errors(described: dict[int, str], **extra: Any) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for error answers: status code -> when it is sent; ``extra`` keys
    (e.g. ``headers``) go on every one."""
    return {
        code: {"model": ErrorOut, "description": text, **extra} for code, text in described.items()
    }


RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}}
# Every /api/ route may refuse a malformed request, and the rate limit when one is set.
API_ERRORS = {
    **errors({422: "A malformed request: the detail names the field and the rule."}),
    **errors(
        {429: "Too many requests from this address (when QA_RATE_LIMIT is set)."},
        headers=RETRY_AFTER,
    ),
}
BODY_TOO_LARGE = errors({413: "The body is over the limit (QA_MAX_BODY_BYTES)."})
# FastAPI's answer to a JSON body whose bytes are not UTF-8 (JSON that does not parse is a 422).
BODY_NOT_TEXT = errors({400: "The body cannot be read as text: send UTF-8 JSON."})
BUSY = errors(
    {503: "Too many questions are waiting already: retry after Retry-After seconds."},
    headers=RETRY_AFTER,
)
WRITER_ERRORS = errors(
    {
        401: "Missing or wrong API key: send 'Authorization: Bearer <QA_API_KEY>'.",
        403: "Writes are off on this server: it has no QA_API_KEY.",
    }
)
UPLOAD_TOO_LARGE = errors({413: "The body is over the limit (QA_MAX_UPLOAD_BYTES)."})
