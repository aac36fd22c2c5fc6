"""How a data directory cuts articles and what text of a passage it indexes: ``IndexConfig``,
fixed for a data directory (the manifest and the database record it), and
``indexed_passages``, the one way from an article to the texts that are embedded and indexed
(ingest, the benchmarks and the peer comparison all go through it)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from index.chunk import chunk_article
from index.models import Article, Passage


@dataclass(frozen=True)
class IndexConfig:
    """How articles are cut and what text of a passage is indexed; fixed for a data directory."""

    max_chars: int = 800
    min_chars: int = 120
    # Index each passage with its article's title in front (retrieval sees the topic of a
    # paragraph that never names it); citations still quote the passage alone.
    title_context: bool = True
    # Segments of this many passages or more are searched through an approximate (HNSW) index,
    # smaller ones exactly: flat search passes 3 ms at 20,000 passages (docs/PERFORMANCE.md,
    # "An index that fits the corpus"). Not part of ``as_dict``: it may change between runs,
    # since each segment records its own kind.
    exact_below: int = 20_000

    def passages(self, article: Article) -> list[Passage]:
        """The article cut into passages with these settings."""
        return chunk_article(article, self.max_chars, self.min_chars)

    def indexed_text(self, article: Article, passage: Passage) -> str:
        """The text embedded and lexically indexed for a passage."""
        return f"{article.title}. {passage.text}" if self.title_context else passage.text

    def as_dict(self) -> dict[str, Any]:
        """The settings as JSON-ready values, as stored in the manifest."""
        return {
            "max_chars": self.max_chars,
            "min_chars": self.min_chars,
            "title_context": self.title_context,
        }


def indexed_passages(
    articles: Iterable[Article], config: IndexConfig
) -> Iterator[tuple[Article, Passage, str]]:
    """Each passage ingest cuts from ``articles``, with its article and the text it embeds."""
    for article in articles:
        for passage in config.passages(article):
            yield article, passage, config.indexed_text(article, passage)
