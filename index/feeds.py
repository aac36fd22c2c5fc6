"""News feeds (RSS 0.9x/1.0/2.0, Atom) that keep the corpus current.

``FeedRegistry`` owns the ``feeds``, ``feed_entries`` and ``feed_lease`` tables (migration
0003) in the corpus's database; ``poll`` runs one round: each feed that is due is fetched
(conditionally: an unchanged feed costs a 304), and each new or changed entry's page is
fetched, read and handed to ``ingest``. An entry is marked seen, and the feed's validators
kept, only after its articles are stored, so a round cut short is simply done again.
"""

from __future__ import annotations

import calendar
import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Engine, text

from index.addresses import check_host
from index.corpus import IngestReport
from index.engine import write_connection
from index.errors import CorpusError, FetchError, InvalidArticleError
from index.fetch import FEED_TYPES, Fetcher
from index.models import Article
from index.pages import article_from_url

log = logging.getLogger(__name__)

DEFAULT_INTERVAL = 15 * 60.0
MAX_BACKOFF = 24 * 3600.0
LEASE = "poller"


class FeedError(CorpusError):
    """A feed cannot be added or found; the message says why."""


@dataclass(frozen=True)
class Feed:
    """One registered feed and how its fetches went."""

    id: int
    url: str
    title: str | None
    interval_seconds: float
    added: str
    last_fetch: str | None
    last_outcome: str | None
    last_error: str | None
    failures: int
    next_fetch: float
    entries_seen: int
    articles_stored: int
    etag: str | None = None
    last_modified: str | None = None


@dataclass
class FeedResult:
    """What polling one feed did."""

    feed_id: int
    url: str
    outcome: str  # ok, not_modified, or the FetchError outcome / "parse"
    requests: int = 0
    entries: int = 0
    new_entries: int = 0
    stored: int = 0
    failed_entries: int = 0
    error: str | None = None


@dataclass
class RoundReport:
    """What one polling round did, over every feed that was due."""

    feeds: list[FeedResult]
    seconds: float

    @property
    def requests(self) -> int:
        """HTTP requests the round sent: feeds, their redirects, pages (and the robots.txt
        a page's host needed, once an hour)."""
        return sum(f.requests for f in self.feeds)

    @property
    def not_modified(self) -> int:
        """Feeds that answered 304."""
        return sum(1 for f in self.feeds if f.outcome == "not_modified")

    @property
    def stored(self) -> int:
        """Articles stored (added or updated) this round."""
        return sum(f.stored for f in self.feeds)

    @property
    def errors(self) -> int:
        """Feeds whose fetch or parse failed."""
        return sum(1 for f in self.feeds if f.error is not None and f.outcome != "ok")


Ingest = Callable[[list[Article]], IngestReport]  # stores articles


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_feed_url(url: str) -> str:
    """The URL if it can name a feed (http or https with a host); raises ``FeedError``."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FeedError(f"{url!r} is not an http or https URL")
    return url.strip()


class FeedRegistry:
    """The feeds of one corpus database, their entries seen, and the polling lease."""

    def __init__(self, engine: Engine, default_interval: float = DEFAULT_INTERVAL) -> None:
        if default_interval <= 0:
            raise ValueError(f"default_interval must be positive, not {default_interval!r}")
        self.engine = engine
        self.default_interval = default_interval

    # -- the registry --------------------------------------------------------------------------

    def add(self, url: str, interval_seconds: float | None = None) -> Feed:
        """Register a feed (due at once); raises ``FeedError`` when the URL is not http(s) or
        is registered already."""
        url = check_feed_url(url)
        interval = interval_seconds or self.default_interval
        if interval <= 0:
            raise FeedError(f"the interval must be positive, not {interval!r}")
        if self.find(url) is not None:
            raise FeedError(f"the feed {url} is registered already")
        with write_connection(self.engine) as conn, conn.begin():
            conn.execute(
                text(
                    "INSERT INTO feeds (url, interval_seconds, added, next_fetch) "
                    "VALUES (:url, :interval, :added, 0)"
                ),
                {"url": url, "interval": interval, "added": _now_iso()},
            )
        feed = self.find(url)
        assert feed is not None
        return feed

    def feeds(self) -> list[Feed]:
        """Every feed, in the order added."""
        with self.engine.connect() as conn:
            rows = conn.execute(text("SELECT * FROM feeds ORDER BY id")).mappings().all()
        return [Feed(**row) for row in rows]

    def find(self, key: int | str) -> Feed | None:
        """The feed with this id or URL, or None."""
        column = "id" if isinstance(key, int) or str(key).isdigit() else "url"
        value: int | str = int(key) if column == "id" else key
        if isinstance(value, int) and not 0 < value < 2**63:  # no such row id
            return None
        with self.engine.connect() as conn:
            row = (
                conn.execute(text(f"SELECT * FROM feeds WHERE {column} = :v"), {"v": value})
                .mappings()
                .first()
            )
        return Feed(**row) if row is not None else None

    def get(self, key: int | str) -> Feed:
        """The feed with this id or URL; raises ``FeedError`` naming it otherwise."""
        feed = self.find(key)
        if feed is None:
            raise FeedError(f"no feed {key!r} is registered")
        return feed

    def remove(self, key: int | str) -> Feed:
        """Unregister a feed (its articles stay); raises ``FeedError`` when there is none."""
        feed = self.get(key)
        with write_connection(self.engine) as conn, conn.begin():
            conn.execute(text("DELETE FROM feed_entries WHERE feed_id = :id"), {"id": feed.id})
            conn.execute(text("DELETE FROM feeds WHERE id = :id"), {"id": feed.id})
        return feed

    def due(self, now: float | None = None) -> list[Feed]:
        """The feeds whose next fetch is due."""
        now = time.time() if now is None else now
        return [f for f in self.feeds() if f.next_fetch <= now]

    # -- the lease: one poller among replicas ----------------------------------------------------

    def take_lease(self, holder: str, seconds: float, now: float | None = None) -> bool:
        """Take or renew the polling lease for ``seconds``; False while another holder's lease
        runs. A holder that dies loses the lease when it expires."""
        now = time.time() if now is None else now
        with write_connection(self.engine) as conn, conn.begin():
            taken = conn.execute(
                text(
                    "UPDATE feed_lease SET holder = :holder, expires = :expires "
                    "WHERE name = :name AND (expires < :now OR holder = :holder)"
                ),
                {"holder": holder, "expires": now + seconds, "name": LEASE, "now": now},
            )
        return bool(taken.rowcount)

    def release_lease(self, holder: str) -> None:
        """Give the lease up, if ``holder`` holds it."""
        with write_connection(self.engine) as conn, conn.begin():
            conn.execute(
                text("UPDATE feed_lease SET expires = 0 WHERE name = :name AND holder = :holder"),
                {"name": LEASE, "holder": holder},
            )

    # -- entries and outcomes -------------------------------------------------------------------

    def _seen(self, feed_id: int) -> dict[str, str]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                text("SELECT entry_key, fingerprint FROM feed_entries WHERE feed_id = :id"),
                {"id": feed_id},
            ).all()
        return {row[0]: row[1] for row in rows}

    def _record(
        self,
        feed: Feed,
        result: FeedResult,
        *,
        now: float,
        title: str | None = None,
        validators: tuple[str | None, str | None] | None = None,
        entries: Sequence[tuple[str, str, str | None]] = (),
        retry_after: float | None = None,
    ) -> None:
        failed = result.error is not None and result.outcome not in ("ok", "not_modified")
        failures = feed.failures + 1 if failed else 0
        delay = feed.interval_seconds
        if failed:
            # Backoff per feed: the interval doubled per failure in a row, or the server's wish.
            delay = min(MAX_BACKOFF, feed.interval_seconds * 2 ** min(failures, 8))
            delay = max(delay, retry_after or 0.0)
        with write_connection(self.engine) as conn, conn.begin():
            if entries:
                keys = [{"id": feed.id, "key": k, "fp": fp, "article": a} for k, fp, a in entries]
                conn.execute(
                    text("DELETE FROM feed_entries WHERE feed_id = :id AND entry_key = :key"),
                    keys,
                )
                conn.execute(
                    text(
                        "INSERT INTO feed_entries (feed_id, entry_key, fingerprint, article_id)"
                        " VALUES (:id, :key, :fp, :article)"
                    ),
                    keys,
                )
            values: dict[str, Any] = {
                "id": feed.id,
                "last_fetch": _now_iso(),
                "outcome": result.outcome,
                "error": result.error,
                "failures": failures,
                "next_fetch": now + delay,
                "seen": result.new_entries - result.failed_entries,
                "stored": result.stored,
            }
            sets = (
                "last_fetch = :last_fetch, last_outcome = :outcome, last_error = :error,"
                " failures = :failures, next_fetch = :next_fetch,"
                " entries_seen = entries_seen + :seen, articles_stored = articles_stored + :stored"
            )
            if title:
                sets += ", title = :title"
                values["title"] = title
            if validators is not None:
                sets += ", etag = :etag, last_modified = :last_modified"
                values["etag"], values["last_modified"] = validators
            conn.execute(text(f"UPDATE feeds SET {sets} WHERE id = :id"), values)

    # -- polling ------------------------------------------------------------------------------

    def poll(
        self,
        fetcher: Fetcher,
        ingest: Ingest,
        *,
        force: bool = False,
        only: Sequence[int | str] = (),
        now: float | None = None,
    ) -> RoundReport:
        """One round: fetch every feed that is due (every feed with ``force``; only those in
        ``only`` when given) and ingest the pages of its new or changed entries."""
        started = time.monotonic()
        now = time.time() if now is None else now
        feeds = [self.get(k) for k in only] if only else self.feeds()
        results = []
        for feed in feeds:
            if force or only or feed.next_fetch <= now:
                results.append(self.poll_feed(feed, fetcher, ingest, now=now))
        return RoundReport(results, time.monotonic() - started)

    def poll_feed(
        self, feed: Feed, fetcher: Fetcher, ingest: Ingest, *, now: float | None = None
    ) -> FeedResult:
        """Fetch one feed and ingest its new or changed entries; every failure is recorded
        on the feed (never raised), and nothing of a failed feed is stored."""
        import feedparser

        now = time.time() if now is None else now
        result = FeedResult(feed.id, feed.url, "ok")
        try:
            fetched = fetcher.fetch(
                feed.url, accept=FEED_TYPES, etag=feed.etag, last_modified=feed.last_modified
            )
        except FetchError as exc:
            result.outcome, result.error, result.requests = exc.outcome, str(exc), 1
            log.warning("feed %s: %s", feed.url, exc)
            self._record(feed, result, now=now, retry_after=exc.retry_after)
            return result
        result.requests = fetched.requests
        if fetched.not_modified:
            result.outcome = "not_modified"
            self._record(feed, result, now=now)
            return result
        parsed = feedparser.parse(
            fetched.content,
            response_headers={"content-type": f"{fetched.content_type}; charset=utf-8"}
            if fetched.charset is None
            else {"content-type": f"{fetched.content_type}; charset={fetched.charset}"},
        )
        version = parsed.get("version") or ""
        # Broken XML is refused whole (feedparser's loose reading of it may take anything for
        # an entry); a wrong declared encoding or content type is not broken XML.
        benign = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)
        broken = parsed.get("bozo") and not isinstance(parsed.get("bozo_exception"), benign)
        if not version or broken:
            reason = parsed.get("bozo_exception") or "no RSS or Atom document"
            result.outcome, result.error = "parse", f"{feed.url} is not a feed: {reason}"
            log.warning("feed %s: %s", feed.url, result.error)
            self._record(feed, result, now=now)
            return result
        outlet = (parsed.feed.get("title") or "").strip() or None
        seen = self._seen(feed.id)
        articles: list[Article] = []
        done: list[tuple[str, str, str | None]] = []
        errors: list[str] = []
        result.entries = len(parsed.entries)
        for entry in parsed.entries:
            link = (entry.get("link") or "").strip()
            key = (entry.get("id") or link).strip()
            if not key or not link:
                continue
            fingerprint = _fingerprint(entry)
            if seen.get(key) == fingerprint:
                continue
            result.new_entries += 1
            before = fetcher.requests
            try:
                article = article_from_url(
                    link,
                    fetcher,
                    title=(entry.get("title") or "").strip() or None,
                    author=(entry.get("author") or "").strip() or None,
                    published=_entry_date(entry),
                    outlet=outlet,
                )
            except (FetchError, InvalidArticleError) as exc:
                result.failed_entries += 1
                errors.append(str(exc))
                log.warning("feed %s: entry %s: %s", feed.url, link, exc)
                continue
            finally:
                result.requests += fetcher.requests - before
            articles.append(article)
            done.append((key, fingerprint, article.id))
        if articles:
            report = ingest(articles)
            result.stored = len(report.added) + len(report.updated)
        if errors:
            result.error = f"{len(errors)} of {result.new_entries} entries failed: {errors[0]}"
        self._record(
            feed,
            result,
            now=now,
            title=outlet,
            validators=(fetched.etag, fetched.last_modified),
            entries=done,
        )
        return result


def check_feed_host(url: str, allow_private: bool) -> None:
    """Refuse at once a feed whose host is not public (``FetchError`` naming the setting)."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        check_host(parts.hostname or "", port, allow_private=allow_private)
    except FetchError as exc:
        if exc.outcome == "refused":
            raise
        # A name that does not resolve now may later: the polls record it.


def _fingerprint(entry: Any) -> str:
    """What makes an entry changed: its link, title and updated date."""
    parts = [entry.get(k) or "" for k in ("link", "title", "updated", "published")]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def _entry_date(entry: Any) -> str | None:
    """The entry's publication (else update) date as ISO ``YYYY-MM-DD``."""
    for key in ("published_parsed", "updated_parsed"):
        value = entry.get(key)
        if value:
            stamp = datetime.fromtimestamp(calendar.timegm(value), UTC)
            return stamp.strftime("%Y-%m-%d")  # as pages give it (trafilatura)
    return None
