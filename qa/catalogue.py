"""The articles a corpus holds, a page at a time, optionally only those a filter admits."""

from __future__ import annotations

from index.models import Article, published_day
from index.view import CorpusView
from qa.models import Filters


def admits(filters: Filters, article: Article) -> bool:
    """Whether ``filters`` admits ``article``, as a search's filter does: the outlet whole and
    the author within the byline, both ignoring case; the days inclusive, an undated article
    failing either bound."""
    if filters.article_ids is not None and article.id not in filters.article_ids:
        return False
    if (
        filters.source is not None
        and (article.outlet or "").casefold() != filters.source.casefold()
    ):
        return False
    if (
        filters.author is not None
        and filters.author.casefold() not in (article.author or "").casefold()
    ):
        return False
    day = published_day(article.published)
    if filters.published_from is not None and not day >= published_day(filters.published_from):
        return False
    return filters.published_to is None or day <= published_day(filters.published_to)


def article_page(
    view: CorpusView, offset: int, limit: int, filters: Filters | None = None
) -> tuple[int, list[tuple[Article, int]]]:
    """How many articles ``filters`` admits, and the page of them (metadata and passage
    count, ordered by id) from ``offset``, at most ``limit`` long."""
    if filters is None or filters.empty:
        return view.article_count, view.article_page(offset, limit)
    matching = [(a, n) for a, n in view.iter_articles() if admits(filters, a)]
    return len(matching), matching[offset : offset + limit]
