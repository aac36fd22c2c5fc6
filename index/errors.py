"""Errors raised by the ingestion and storage layer."""


class CorpusError(Exception):
    """Base class for errors of the index layer."""


class InvalidArticleError(CorpusError):
    """An article (or the file holding it) cannot be ingested; the message says why."""


class ArticleNotFoundError(CorpusError):
    """No article with the requested id is stored."""

    def __init__(self, article_id: str) -> None:
        super().__init__(f"no article with id {article_id!r}")
        self.article_id = article_id


class IndexMismatchError(CorpusError):
    """The stored index was built with another embedding model than the one loaded."""


class CorruptIndexError(CorpusError):
    """The files in the data directory cannot be read as an index."""
