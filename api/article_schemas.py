"""Request and response bodies of article reads and writes."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from index.models import Article


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


class ArticleIn(BaseModel):
    """An article to store: the fields of a JSONL line."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(None, description="Stable id; derived from url or title if absent.")
    title: str = Field(..., min_length=1)
    text: str = Field(..., min_length=1)
    url: str | None = None
    author: str | None = None
    published: str | None = Field(None, description="ISO date, e.g. 2024-05-01.")
    source: str | None = Field(None, description="The outlet.")
    section: str | None = None
    standfirst: str | None = None


class WriteResult(BaseModel):
    """What a write did to one article."""

    id: str
    status: Literal["added", "updated", "unchanged", "deleted"]
    passages: int


class BulkFailure(BaseModel):
    """A line of a bulk upload that was refused."""

    line: int
    reason: str


class BulkResult(BaseModel):
    """What a bulk upload did."""

    added: list[str]
    updated: list[str]
    unchanged: list[str]
    failed: list[BulkFailure]
    passages: int


class ArticleList(BaseModel):
    """A page of articles."""

    total: int
    limit: int
    offset: int
    articles: list[ArticleSummary]
