"""Where stored references to articles are read back from."""

from __future__ import annotations

from typing import Protocol

from index.models import Article


class ArticleSource(Protocol):
    """The articles as they stand now; ``index.corpus.Corpus`` is one (it reads its database).

    Whatever keeps references to passages (offsets and a hash, never the text) resolves them
    through this, so an article deleted or replaced in the corpus stops being quoted.
    """

    def get_article(self, article_id: str) -> Article:
        """The article with its full text; raises ``index.errors.ArticleNotFoundError``."""
        ...
