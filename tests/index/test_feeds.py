"""Polling feeds: new entries fetched and stored, unchanged feeds cost a 304, every hostile
case recorded on the feed with nothing stored."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.feedserver import FeedServer, Route, feed_server
from index.corpus import Corpus
from index.feeds import FeedError, FeedRegistry
from index.fetch import Fetcher
from index.models import Article
from tests.fakes import FakeEmbedder
from tests.feeds import serve_feeds


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with feed_server() as s:
        serve_feeds(s)
        yield s


@pytest.fixture
def corpus(tmp_path: Path) -> Iterator[Corpus]:
    embedder = FakeEmbedder()
    c = Corpus(tmp_path / "data", embedder.name, embedder.dimension, refresh_seconds=0)
    yield c
    c.close()


@pytest.fixture
def registry(corpus: Corpus) -> FeedRegistry:
    return FeedRegistry(corpus.db.engine)


def fetcher(**options: object) -> Fetcher:
    defaults: dict[str, object] = {"allowed": ("127.0.0.1/32",), "host_delay": 0, "timeout": 2}
    return Fetcher(**{**defaults, **options})  # type: ignore[arg-type]


def ingest_into(corpus: Corpus) -> object:
    embedder = FakeEmbedder()
    return lambda articles: corpus.add_articles(articles, embedder)


def test_rss_and_atom_entries_are_fetched_and_stored_with_the_entries_metadata(
    server: FeedServer, registry: FeedRegistry, corpus: Corpus
) -> None:
    rss = registry.add(server.url("/rss.xml"))
    atom = registry.add(server.url("/atom.xml"), interval_seconds=60)
    report = registry.poll(fetcher(), ingest_into(corpus))  # type: ignore[arg-type]
    assert [f.outcome for f in report.feeds] == ["ok", "ok"]
    assert report.stored == 3
    stored = {a.url: a for a, _ in corpus.snapshot.iter_articles()}
    bridge = stored[server.url("/news/bridge")]
    assert bridge.title == "Old bridge to close for repairs"
    assert bridge.published == "2026-03-03"  # the page had none: the entry's date
    assert stored[server.url("/news/harbour")].published == "2026-03-02"  # the page's own
    assert bridge.outlet == "Test Herald"
    feeds = {f.id: f for f in registry.feeds()}
    assert feeds[rss.id].entries_seen == 2 and feeds[rss.id].articles_stored == 2
    assert feeds[rss.id].title == "Test Herald" and feeds[rss.id].last_error is None
    assert feeds[atom.id].interval_seconds == 60 and feeds[atom.id].articles_stored == 1


def test_an_unchanged_feed_costs_a_304_and_a_changed_one_only_its_new_entries(
    server: FeedServer, registry: FeedRegistry, corpus: Corpus
) -> None:
    registry.add(server.url("/rss.xml"))
    f = fetcher()
    registry.poll(f, ingest_into(corpus))  # type: ignore[arg-type]
    pages = server.hits("/news/harbour")
    again = registry.poll(f, ingest_into(corpus), force=True)  # type: ignore[arg-type]
    assert again.not_modified == 1 and again.requests == 1 and again.stored == 0
    assert server.hits("/news/harbour") == pages
    # A new ETag and the same entries: the feed is read, but no page fetched again.
    server.routes["/rss.xml"].etag = '"rss-2"'
    third = registry.poll(f, ingest_into(corpus), force=True)  # type: ignore[arg-type]
    assert third.feeds[0].outcome == "ok" and third.feeds[0].new_entries == 0
    assert server.hits("/news/harbour") == pages


def test_a_feed_is_fetched_again_only_when_due(
    server: FeedServer, registry: FeedRegistry, corpus: Corpus
) -> None:
    registry.add(server.url("/atom.xml"), interval_seconds=600)
    now = time.time()
    assert len(registry.poll(fetcher(), ingest_into(corpus), now=now).feeds) == 1  # type: ignore[arg-type]
    assert registry.poll(fetcher(), ingest_into(corpus), now=now + 60).feeds == []  # type: ignore[arg-type]
    assert registry.due(now + 601)


HOSTILE = {
    "broken XML": ("/broken.xml", {}, "parse", "not a feed"),
    "a page that grows without end": ("/endless", {}, "too_large", "larger than"),
    "a slow server": ("/slow", {}, "timeout", "longer than"),
    "a redirect to a private address": ("/to-private", {}, "refused", "QA_FETCH_ALLOW_PRIVATE"),
    "a redirect to file://": ("/to-file", {}, "scheme", "only http and https"),
    "an HTML page": ("/news/harbour", {}, "content_type", "text/html"),
    "a server error": ("/error", {}, "status", "HTTP 500"),
}


@pytest.mark.parametrize("case", HOSTILE.values(), ids=HOSTILE.keys())
def test_every_hostile_feed_ends_in_a_recorded_error_and_nothing_stored(
    server: FeedServer,
    registry: FeedRegistry,
    corpus: Corpus,
    case: tuple[str, dict[str, object], str, str],
) -> None:
    path, _, outcome, message = case
    server.routes["/endless"] = Route("<rss>", content_type="application/rss+xml", endless=True)
    server.routes["/slow"] = Route("<rss/>", content_type="application/rss+xml", delay=10)
    server.routes["/to-private"] = Route(
        status=302, headers={"Location": "http://169.254.169.254/feed"}
    )
    server.routes["/to-file"] = Route(status=302, headers={"Location": "file:///etc/passwd"})
    server.routes["/error"] = Route(status=500)
    before = corpus.snapshot.article_count
    feed = registry.add(server.url(path))
    started = time.monotonic()
    report = registry.poll(fetcher(max_bytes=50_000, timeout=1), ingest_into(corpus))  # type: ignore[arg-type]
    assert time.monotonic() - started < 3
    assert report.feeds[0].outcome == outcome
    recorded = registry.get(feed.id)
    assert recorded.last_outcome == outcome and message in (recorded.last_error or "")
    assert recorded.failures == 1 and recorded.next_fetch > time.time() + feed.interval_seconds
    assert corpus.snapshot.article_count == before


def test_entries_whose_pages_fail_are_recorded_and_tried_again(
    server: FeedServer, registry: FeedRegistry, corpus: Corpus
) -> None:
    server.routes["/news/bridge"] = Route(status=404)
    feed = registry.add(server.url("/rss.xml"))
    report = registry.poll(fetcher(), ingest_into(corpus))  # type: ignore[arg-type]
    assert report.feeds[0].stored == 1 and report.feeds[0].failed_entries == 1
    assert "1 of 2 entries failed" in (registry.get(feed.id).last_error or "")
    from tests.feeds import serve_pages

    serve_pages(server)
    server.routes["/rss.xml"].etag = '"rss-2"'
    again = registry.poll(fetcher(), ingest_into(corpus), force=True)  # type: ignore[arg-type]
    assert again.feeds[0].new_entries == 1 and again.feeds[0].stored == 1


def test_retry_after_sets_the_next_fetch(
    server: FeedServer, registry: FeedRegistry, corpus: Corpus
) -> None:
    server.routes["/busy"] = Route(status=429, headers={"Retry-After": "86400"})
    feed = registry.add(server.url("/busy"))
    registry.poll(fetcher(), ingest_into(corpus))  # type: ignore[arg-type]
    assert registry.get(feed.id).next_fetch >= time.time() + 86000


def test_a_feed_is_registered_once_and_removed_by_id_or_url(registry: FeedRegistry) -> None:
    feed = registry.add("https://news.example/rss")
    with pytest.raises(FeedError, match="registered already"):
        registry.add("https://news.example/rss")
    with pytest.raises(FeedError, match="not an http or https URL"):
        registry.add("file:///etc/passwd")
    assert registry.remove("https://news.example/rss").id == feed.id
    with pytest.raises(FeedError, match="no feed"):
        registry.remove(feed.id)


def test_one_replica_holds_the_lease_until_it_expires(registry: FeedRegistry) -> None:
    now = time.time()
    assert registry.take_lease("a", 60, now=now)
    assert not registry.take_lease("b", 60, now=now + 1)
    assert registry.take_lease("a", 60, now=now + 2)  # renewed
    assert registry.take_lease("b", 60, now=now + 63)  # a died: its lease ran out
    registry.release_lease("b")
    assert registry.take_lease("a", 60, now=now + 64)


def test_a_round_cut_short_loses_nothing(
    server: FeedServer, registry: FeedRegistry, corpus: Corpus
) -> None:
    """The replica dies while storing: no entry is marked seen, no validator kept."""
    feed = registry.add(server.url("/rss.xml"))

    def dies(articles: list[Article]) -> object:
        raise SystemExit("killed")

    with pytest.raises(SystemExit):
        registry.poll(fetcher(), dies)
    assert registry.get(feed.id).etag is None
    report = registry.poll(fetcher(), ingest_into(corpus), force=True)  # type: ignore[arg-type]
    assert report.feeds[0].outcome == "ok" and report.stored == 2
