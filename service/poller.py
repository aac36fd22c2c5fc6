"""Feeds and pages for the API, the CLI and ``qa serve``'s background poller: one
``FeedService`` built from ``Services`` (the fetcher the settings describe, the feed registry
in the corpus's database, and the one ingest path that stores articles and groups copies of a
story), and the ``Poller`` thread that runs a round when one is due, holding a lease in the
database so that among replicas on one database only one polls at a time."""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from dataclasses import dataclass, field, replace
from typing import Any

from index.corpus import Corpus, IngestReport
from index.embed import Embedder
from index.feeds import FeedRegistry, RoundReport
from index.fetch import Fetcher
from index.models import Article
from index.pages import article_from_url
from index.sources import check_article_id
from index.stories import StoryIndex
from service.settings import Settings

log = logging.getLogger(__name__)


def stored(articles: list[Article], report: IngestReport) -> list[Article]:
    """The articles the report says are stored (added, updated or unchanged)."""
    kept = {*report.added, *report.updated, *report.unchanged}
    return [a for a in articles if a.id in kept]


def build_fetcher(settings: Settings) -> Fetcher:
    """The fetcher the settings describe."""
    return Fetcher(
        allow_private=settings.fetch_allow_private,
        timeout=settings.fetch_timeout_seconds,
        max_bytes=settings.fetch_max_bytes,
        host_delay=settings.fetch_host_delay_seconds,
    )


@dataclass
class FeedService:
    """What feeds and URL ingest work with; ``ingest`` is the one path that stores fetched
    articles (and groups the copies of a story)."""

    corpus: Corpus
    embedder: Embedder
    fetcher: Fetcher
    registry: FeedRegistry
    stories: StoryIndex
    lock: threading.Lock = field(default_factory=threading.Lock)  # one round at a time here

    @classmethod
    def build(
        cls,
        settings: Settings,
        corpus: Corpus,
        embedder: Embedder,
        fetcher: Fetcher | None = None,
        stories: StoryIndex | None = None,
    ) -> FeedService:
        """The feed service of ``corpus``' database, as the settings describe it (sharing
        ``stories`` with the answerer when given)."""
        engine = corpus.db.engine
        return cls(
            corpus,
            embedder,
            fetcher or build_fetcher(settings),
            FeedRegistry(engine, settings.feed_interval_minutes * 60),
            stories or StoryIndex(engine, threshold=settings.story_threshold),
        )

    def ingest(self, articles: list[Article]) -> IngestReport:
        """Store the articles and give each its story: the one write path of the API and the
        feeds."""
        report = self.corpus.add_articles(articles, self.embedder)
        self.stories.assign(stored(articles, report))
        return report

    def ingest_url(self, url: str, article_id: str | None = None) -> tuple[Article, IngestReport]:
        """Fetch the page at ``url`` and store it (under ``article_id``, else the id the URL
        derives); raises ``FetchError`` or ``InvalidArticleError``."""
        article = article_from_url(url, self.fetcher)
        if article_id:
            article = replace(article, id=check_article_id(article_id))
        return article, self.ingest([article])

    def poll(self, **options: Any) -> RoundReport:
        """One polling round (``FeedRegistry.poll``'s options)."""
        with self.lock:
            return self.registry.poll(self.fetcher, self.ingest, **options)

    def close(self) -> None:
        """Close the fetcher's connections."""
        self.fetcher.close()


class Poller:
    """Polls the feeds in a background thread every ``tick`` seconds while it holds the
    lease. A replica that dies mid-round leaves its entries unseen and its lease to expire:
    the next holder fetches them again."""

    def __init__(self, feeds: FeedService, tick: float = 30.0, lease_seconds: float = 600.0):
        if tick <= 0 or lease_seconds <= tick:
            raise ValueError(f"need 0 < tick < lease_seconds, not {tick!r}, {lease_seconds!r}")
        self.feeds = feeds
        self.tick = tick
        self.lease_seconds = lease_seconds
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.rounds = 0
        self.last: RoundReport | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="feed-poller", daemon=True)

    def start(self) -> None:
        """Start polling in the background."""
        self._thread.start()

    def stop(self) -> None:
        """Stop after the fetch in flight, and give the lease up."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.feeds.fetcher.timeout + 5)
        try:
            self.feeds.registry.release_lease(self.holder)
        except Exception:  # the database may be closing already
            log.debug("could not release the feed lease", exc_info=True)

    def run_once(self) -> RoundReport | None:
        """One round if this replica holds (or takes) the lease; None when another does."""
        if not self.feeds.registry.take_lease(self.holder, self.lease_seconds):
            return None
        report = self.feeds.poll()
        self.rounds += 1
        self.last = report
        if report.feeds:
            log.info(
                "feeds: %d polled, %d unchanged, %d articles stored, %d failed in %.1f s",
                len(report.feeds),
                report.not_modified,
                report.stored,
                report.errors,
                report.seconds,
            )
        return report

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:  # a round that fails is logged; the next one tries again
                log.exception("the feed poller's round failed")
            self._stop.wait(self.tick)
