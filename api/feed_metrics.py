"""Feed, fetch and story figures for ``/metrics``, read from the feed service when scraped."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from service.poller import FeedService


class FeedCollector(Collector):
    """Fetches by outcome, HTTP requests sent, feeds (and those failing), articles the feeds
    stored, and stories (and those told by several outlets)."""

    def __init__(self, feeds: Callable[[], FeedService | None]) -> None:
        self.feeds = feeds

    def collect(self) -> Iterator[Metric]:
        feeds = self.feeds()
        if feeds is None:
            return
        fetches = CounterMetricFamily(
            "qa_fetches", "Page and feed fetches by outcome.", labels=["outcome"]
        )
        for outcome, count in sorted(feeds.fetcher.outcomes.items()):
            fetches.add_metric([outcome], count)
        yield fetches
        yield CounterMetricFamily(
            "qa_fetch_requests", "HTTP requests the fetcher sent.", value=feeds.fetcher.requests
        )
        registered = feeds.registry.feeds()
        failing = sum(1 for f in registered if f.failures)
        stored = sum(f.articles_stored for f in registered)
        yield GaugeMetricFamily("qa_feeds", "Registered feeds.", value=len(registered))
        yield GaugeMetricFamily("qa_feeds_failing", "Feeds whose last fetch failed.", value=failing)
        yield GaugeMetricFamily(
            "qa_feed_articles_stored", "Articles the feeds have stored.", value=stored
        )
        _, stories, syndicated = feeds.stories.counts()
        yield GaugeMetricFamily("qa_stories", "Stories among the grouped articles.", value=stories)
        yield GaugeMetricFamily(
            "qa_stories_syndicated", "Stories told by more than one article.", value=syndicated
        )
