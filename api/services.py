"""Build the heavy objects (model, corpus, pipeline) once, from settings."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from api.settings import Settings
from index.corpus import Corpus, IngestReport
from index.embed import Embedder, SentenceTransformerEmbedder
from index.models import Article
from index.sources import SourceError, default_corpus_dir, read_paths
from qa.answer import Answerer
from qa.retrieve import Retriever

log = logging.getLogger(__name__)


@dataclass
class Services:
    """What the routes and the CLI work with."""

    settings: Settings
    embedder: Embedder
    corpus: Corpus
    answerer: Answerer

    def close(self) -> None:
        """Release the database."""
        self.corpus.close()


def load_embedder(settings: Settings) -> Embedder:
    """Load the sentence-transformers model named by the settings (seconds, once per process)."""
    return SentenceTransformerEmbedder(model_path=settings.model_path, name=settings.model_name)


def ingest_default_corpus(corpus: Corpus, embedder: Embedder) -> IngestReport:
    """Ingest the bundled article(s); returns the report."""
    articles = []
    for item in read_paths(sorted(default_corpus_dir().glob("*.txt"))):
        if isinstance(item, SourceError):
            raise RuntimeError(f"the bundled corpus cannot be read: {item.source}: {item.reason}")
        articles.append(item)
    return corpus.add_articles(articles, embedder)


def build_services(settings: Settings, embedder: Embedder | None = None) -> Services:
    """Open the corpus in the settings' data directory, seeding it with the default corpus."""
    embedder = embedder or load_embedder(settings)
    corpus = Corpus(settings.data_dir, embedder.name, embedder.dimension)
    if settings.ingest_default_corpus and not corpus.snapshot.articles:
        report = ingest_default_corpus(corpus, embedder)
        log.info("empty data directory: ingested the default corpus (%s)", report.summary())
    answerer = Answerer(corpus, Retriever(embedder), min_score=settings.min_score)
    return Services(settings=settings, embedder=embedder, corpus=corpus, answerer=answerer)


def article_list(corpus: Corpus) -> list[tuple[Article, int]]:
    """Every article (metadata only) with its passage count, ordered by id."""
    return sorted(corpus.snapshot.articles.values(), key=lambda pair: pair[0].id)
