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


class FetchError(CorpusError):
    """A page or feed could not be fetched. ``outcome`` names the kind (``refused``,
    ``robots``, ``timeout``, ``too_large``, ``status``, ``content_type``, ``redirects``,
    ``scheme``, ``network``); ``retry_after`` is the server's wish in seconds, if it said one."""

    def __init__(self, outcome: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.outcome = outcome
        self.retry_after = retry_after
