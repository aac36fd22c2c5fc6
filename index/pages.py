"""One web page by URL: fetched (``index/fetch.py``) and extracted as an HTML file is
(``index/sources.py``); the URL becomes the article's URL and derives its id, so that fetching
it again updates the same article."""

from __future__ import annotations

from dataclasses import replace

from index.fetch import PAGE_TYPES, Fetcher
from index.models import Article
from index.sources import MAX_ARTICLE_CHARS, article_from_html, derive_id


def article_from_url(
    url: str,
    fetcher: Fetcher,
    *,
    title: str | None = None,
    author: str | None = None,
    published: str | None = None,
    outlet: str | None = None,
) -> Article:
    """The article at ``url``; ``title``, ``author``, ``published`` and ``outlet`` (a feed
    entry's) fill what the page does not say. Raises ``FetchError`` when the page cannot be
    fetched and ``InvalidArticleError`` when it holds no article."""
    fetched = fetcher.fetch(url, accept=PAGE_TYPES)
    html = fetched.text()[:MAX_ARTICLE_CHARS]
    article = article_from_html(html, derive_id("", url))
    return replace(
        article,
        url=url,
        title=article.title if article.title and not _untitled(article) else title or article.title,
        author=article.author or author,
        published=article.published or published,
        outlet=article.outlet or outlet,
    )


def _untitled(article: Article) -> bool:
    """Whether the title was made from the first line (the page named none)."""
    return article.text.startswith(article.title)
