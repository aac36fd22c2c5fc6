"""``qa feeds add|list|remove|poll``: the news feeds that keep the corpus current, and the
page fetching behind ``qa ingest https://…``."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import click

from cli.options import data_dir_option, settings_for
from index.errors import CorpusError, FetchError, InvalidArticleError
from index.feeds import FeedError, RoundReport, check_feed_host
from index.models import Article
from index.pages import article_from_url
from index.sources import SourceError
from service.poller import FeedService, build_fetcher
from service.services import load_embedder, open_corpus
from service.settings import Settings


def fetch_pages(urls: Sequence[str], settings: Settings) -> list[Article | SourceError]:
    """The articles at ``urls``, or a ``SourceError`` naming each URL that failed."""
    if not urls:
        return []
    fetcher = build_fetcher(settings)
    items: list[Article | SourceError] = []
    try:
        for url in urls:
            try:
                items.append(article_from_url(url, fetcher))
            except (FetchError, InvalidArticleError) as exc:
                items.append(SourceError(url, str(exc)))
    finally:
        fetcher.close()
    return items


@contextmanager
def _feed_service(settings: Settings) -> Iterator[FeedService]:
    embedder = load_embedder(settings)
    try:
        corpus = open_corpus(settings, embedder, refresh_seconds=0)
    except CorpusError as exc:
        raise click.ClickException(str(exc)) from exc
    service = FeedService.build(settings, corpus, embedder)
    try:
        yield service
    finally:
        service.close()
        corpus.close()


@click.group()
def feeds() -> None:
    """The news feeds (RSS, Atom) whose new entries are fetched and stored.

    \b
    Example:
        qa feeds add https://example.com/world/rss.xml --every 30
        qa feeds poll
        qa feeds list
    """


@feeds.command("add")
@click.argument("url")
@click.option("--every", type=click.FloatRange(min=0.1), help="Minutes between fetches (15).")
@click.option("--poll/--no-poll", default=True, help="Fetch it at once (default).")
@data_dir_option
def add(url: str, every: float | None, poll: bool, data_dir: Path | None) -> None:
    """Register a feed and (unless --no-poll) fetch it at once.

    \b
    Example:
        qa feeds add https://example.com/world/rss.xml --every 30
    """
    settings = settings_for(data_dir)
    try:
        check_feed_host(url, settings.fetch_allow_private)
    except FetchError as exc:
        raise click.ClickException(str(exc)) from exc
    with _feed_service(settings) as service:
        try:
            feed = service.registry.add(url, every * 60 if every else None)
        except FeedError as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(f"added feed {feed.id}: {feed.url}")
        if poll:
            _print_round(service.poll(only=[feed.id]))


@feeds.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per feed.")
@data_dir_option
def list_feeds(as_json: bool, data_dir: Path | None) -> None:
    """List the feeds: id, URL, last fetch and its outcome, entries seen, articles stored.

    \b
    Example:
        qa feeds list --json
    """
    with _feed_service(settings_for(data_dir)) as service:
        for feed in service.registry.feeds():
            if as_json:
                fields = {k: v for k, v in vars(feed).items() if k not in ("etag", "next_fetch")}
                click.echo(json.dumps(fields))
                continue
            click.echo(
                f"{feed.id}\t{feed.url}\tevery {feed.interval_seconds / 60:g} min\t"
                f"last {feed.last_fetch or 'never'} {feed.last_outcome or ''}\t"
                f"{feed.entries_seen} entries, {feed.articles_stored} articles"
            )
            if feed.last_error:
                click.echo(f"\terror: {feed.last_error}")


@feeds.command("remove")
@click.argument("feed")
@data_dir_option
def remove(feed: str, data_dir: Path | None) -> None:
    """Stop polling a feed (by id or URL); its articles stay.

    \b
    Example:
        qa feeds remove 3
    """
    with _feed_service(settings_for(data_dir)) as service:
        try:
            removed = service.registry.remove(feed)
        except FeedError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"removed feed {removed.id}: {removed.url}")


@feeds.command("poll")
@click.option("--all", "force", is_flag=True, help="Fetch every feed, due or not.")
@data_dir_option
def poll(force: bool, data_dir: Path | None) -> None:
    """Run one polling round over the feeds that are due (for cron); exits 1 when every
    feed polled failed.

    \b
    Example:
        */5 * * * * qa feeds poll --data-dir /srv/qa
    """
    with _feed_service(settings_for(data_dir)) as service:
        report = service.poll(force=force)
    _print_round(report)
    if report.feeds and report.errors == len(report.feeds):
        sys.exit(1)


def _print_round(report: RoundReport) -> None:
    for f in report.feeds:
        line = f"feed {f.feed_id}: {f.outcome}, {f.new_entries} new entries, {f.stored} stored"
        click.echo(line + (f"; {f.error}" if f.error else ""))
    click.echo(
        f"{len(report.feeds)} feeds in {report.seconds:.2f} s: {report.requests} requests,"
        f" {report.not_modified} unchanged (304), {report.stored} articles stored"
    )
