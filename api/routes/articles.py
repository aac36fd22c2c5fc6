"""The stored articles."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import ServicesDep
from api.schemas import ArticleDetail, ArticleList, ArticleSummary
from api.services import article_list

router = APIRouter(prefix="/api/articles", tags=["articles"])


@router.get("")
def list_articles(
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=10_000, description="Page size.")] = 100,
    offset: Annotated[int, Query(ge=0, description="Articles to skip.")] = 0,
) -> ArticleList:
    """List articles (metadata and passage counts), ordered by id."""
    articles = article_list(services.corpus)
    page = articles[offset : offset + limit]
    return ArticleList(
        total=len(articles),
        limit=limit,
        offset=offset,
        articles=[ArticleSummary.of(a, n) for a, n in page],
    )


@router.get("/{article_id}", responses={404: {"description": "No such article."}})
def get_article(article_id: str, services: ServicesDep) -> ArticleDetail:
    """Return one article with its full text, which citation offsets point into."""
    article = services.corpus.get_article(article_id)
    _, count = services.corpus.snapshot.articles.get(article.id, (article, 0))
    summary = ArticleSummary.of(article, count)
    return ArticleDetail(**summary.model_dump(), text=article.text)
