"""Request and response bodies of the HTTP API."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from index.models import Article
from qa.answer import MAX_TOP_K
from qa.models import Answer, Citation

MAX_QUESTION_CHARS = 1000


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
        None, max_length=64, description="Continue this conversation; omit to start a new one."
    )

    @field_validator("question")
    @classmethod
    def _question_has_words(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("the question is empty: type a question")
        if len(value) > MAX_QUESTION_CHARS:
            raise ValueError(
                f"the question is {len(value)} characters long; the limit is {MAX_QUESTION_CHARS}"
            )
        return value


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
        )


class AskResponse(BaseModel):
    """The answer sentence (null when the articles do not hold one) and the citations."""

    question: str
    answered: bool
    answer: str | None
    citations: list[CitationOut]
    conversation_id: str

    @classmethod
    def of(cls, answer: Answer, conversation_id: str) -> AskResponse:
        """Shape a pipeline answer for the wire."""
        return cls(
            question=answer.question,
            answered=answer.answered,
            answer=answer.text,
            citations=[CitationOut.of(c) for c in answer.citations],
            conversation_id=conversation_id,
        )


class SearchResponse(BaseModel):
    """Ranked passages for a query, without answer logic."""

    query: str
    citations: list[CitationOut]


class ArticleSummary(BaseModel):
    """An article's metadata and passage count."""

    id: str
    title: str
    author: str | None
    outlet: str | None
    section: str | None
    standfirst: str | None
    url: str | None
    published: str | None
    metadata: dict[str, str]
    passage_count: int

    @classmethod
    def of(cls, article: Article, passage_count: int) -> ArticleSummary:
        """Shape an article's metadata for the wire."""
        return cls(
            id=article.id,
            title=article.title,
            author=article.author,
            outlet=article.outlet,
            section=article.section,
            standfirst=article.standfirst,
            url=article.url,
            published=article.published,
            metadata=article.extra,
            passage_count=passage_count,
        )


class ArticleDetail(ArticleSummary):
    """An article with its full stored text (the text every citation's offsets point into)."""

    text: str


class ArticleList(BaseModel):
    """A page of articles."""

    total: int
    limit: int
    offset: int
    articles: list[ArticleSummary]
