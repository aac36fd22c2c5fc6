"""The one fetcher for pages and feeds: polite (robots.txt, conditional requests, per-host
pacing, a User-Agent that names us) and safe (no request to a non-public address unless the
deployment allows it, at most five redirects, each checked, size and time capped).

Server-side request forgery is refused before any byte is sent: the host of the URL (and of
every redirect) is resolved once, refused when any of its addresses is not public, and the
connection goes to the address that was checked (the URL is rewritten to it, the ``Host``
header and TLS server name keep the name), so a DNS answer that changes between the check and
the connection (rebinding) cannot redirect it.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import httpx

from index.addresses import (
    Resolver,
    check_host,
    system_resolver,
)
from index.errors import FetchError

SOFTWARE_URL = "https://github.com/cited-answers/cited-answers"
USER_AGENT = f"cited-answers/0.1 (+{SOFTWARE_URL})"
ROBOTS_AGENT = "cited-answers"
MAX_REDIRECTS = 5

PAGE_TYPES = frozenset({"text/html", "application/xhtml+xml"})
FEED_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/rdf+xml",
        "application/xml",
        "text/xml",
        "application/feed+xml",
        # Feeds are often served with a generic type; the parser decides what they hold.
        "text/plain",
        "application/octet-stream",
    }
)


@dataclass(frozen=True)
class Fetched:
    """What a fetch returned: the final URL (after redirects), the body (empty for a 304) and
    the validators to send next time."""

    url: str
    status: int
    content: bytes = b""
    content_type: str = ""
    charset: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    requests: int = 1

    @property
    def not_modified(self) -> bool:
        """Whether the server answered 304: nothing changed since the validators sent."""
        return self.status == 304

    def text(self) -> str:
        """The body decoded with the character set the server named (UTF-8 otherwise)."""
        for encoding in (self.charset, "utf-8"):
            if encoding:
                try:
                    return self.content.decode(encoding)
                except (LookupError, UnicodeDecodeError):
                    continue
        return self.content.decode("utf-8", errors="replace")


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


@dataclass
class _Host:
    lock: threading.Lock = field(default_factory=threading.Lock)
    last: float = 0.0
    robots: RobotFileParser | None = None
    robots_at: float = 0.0


class Fetcher:
    """Fetches pages and feeds over HTTP(S), one request at a time per host and at least
    ``host_delay`` seconds apart, honouring robots.txt (kept an hour per host).

    ``outcomes`` counts fetches by how they ended (``ok``, ``not_modified`` or a
    ``FetchError`` outcome); ``requests`` counts HTTP requests sent (robots.txt included).
    """

    def __init__(
        self,
        *,
        allow_private: bool = False,
        timeout: float = 20.0,
        connect_timeout: float = 5.0,
        max_bytes: int = 5_000_000,
        host_delay: float = 1.0,
        user_agent: str = USER_AGENT,
        resolver: Resolver = system_resolver,
        robots: bool = True,
        allowed: Iterable[str] = (),
    ) -> None:
        if timeout <= 0 or connect_timeout <= 0:
            raise ValueError(f"timeouts must be positive, not {timeout!r}, {connect_timeout!r}")
        if max_bytes < 1:
            raise ValueError(f"max_bytes must be at least 1, not {max_bytes!r}")
        self.allow_private = allow_private
        # Non-public networks reached all the same (a test server on 127.0.0.1/32, say).
        self.allowed = tuple(ipaddress.ip_network(net) for net in allowed)
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.host_delay = host_delay
        self.user_agent = user_agent
        self.resolver = resolver
        self.robots = robots
        self.outcomes: dict[str, int] = {}
        self.requests = 0
        self._hosts: dict[str, _Host] = {}
        self._lock = threading.Lock()
        # No proxies from the environment: the connection must go to the address checked.
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(connect_timeout, timeout)),
            follow_redirects=False,
            trust_env=False,
            # Only what _decode undoes: a body is inflated here, under the size cap.
            headers={"User-Agent": user_agent, "Accept-Encoding": "gzip, deflate"},
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def _host(self, key: str) -> _Host:
        with self._lock:
            return self._hosts.setdefault(key, _Host())

    def _count(self, outcome: str) -> None:
        with self._lock:
            self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1

    def fetch(
        self,
        url: str,
        *,
        accept: Iterable[str] = PAGE_TYPES,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> Fetched:
        """Fetch ``url``, following at most five redirects, each checked as the first URL was.
        With ``etag``/``last_modified`` the request is conditional, and a 304 comes back as a
        ``Fetched`` whose ``not_modified`` is true. Raises ``FetchError`` for anything else
        than a 2xx body of an accepted type within the size and time limits."""
        try:
            result = self._fetch(url, frozenset(accept), etag, last_modified)
        except FetchError as exc:
            self._count(exc.outcome)
            raise
        self._count("not_modified" if result.not_modified else "ok")
        return result

    def _fetch(
        self, url: str, accept: frozenset[str], etag: str | None, last_modified: str | None
    ) -> Fetched:
        deadline = time.monotonic() + self.timeout
        headers: dict[str, str] = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        sent = 0
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            if self.robots and not self._robots_allow(current, deadline):
                raise FetchError("robots", f"robots.txt of {_origin(current)} disallows {current}")
            sent += 1
            response = self._send(current, headers, deadline)
            try:
                if response.status_code in (301, 302, 303, 307, 308):
                    location = response.headers.get("location")
                    if not location:
                        raise FetchError(
                            "status", f"{current} answered {response.status_code} with no Location"
                        )
                    current = urljoin(current, location)
                    continue
                return self._read(current, response, accept, deadline, sent)
            finally:
                response.close()
        raise FetchError("redirects", f"{url} redirects more than {MAX_REDIRECTS} times")

    def _send(self, url: str, headers: dict[str, str], deadline: float) -> httpx.Response:
        """Send one GET to the checked address of ``url``'s host, paced per host."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise FetchError("scheme", f"only http and https URLs are fetched, not {url!r}")
        try:
            parsed = httpx.URL(url)
        except httpx.InvalidURL as exc:
            raise FetchError("scheme", f"{url!r} is not a URL: {exc}") from exc
        host = parsed.host
        if not host:
            raise FetchError("scheme", f"{url!r} names no host")
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        address = check_host(
            host,
            port,
            allow_private=self.allow_private,
            resolver=self.resolver,
            allowed=self.allowed,
        )
        target = parsed.copy_with(host=address)
        named = f"[{host}]" if ":" in host else host  # an IPv6 literal keeps its brackets
        host_header = named if parsed.port is None else f"{named}:{parsed.port}"
        extensions: dict[str, object] = {}
        if parsed.scheme == "https":
            extensions["sni_hostname"] = host  # the certificate is checked against the name
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FetchError("timeout", f"{url} took longer than {self.timeout:g} s")
        state = self._host(f"{parsed.scheme}://{host}:{port}")
        with state.lock:
            wait = state.last + self.host_delay - time.monotonic()
            if wait > 0:
                time.sleep(min(wait, remaining))
            try:
                request = self._client.build_request(
                    "GET",
                    target,
                    headers={**headers, "Host": host_header},
                    extensions={
                        **extensions,
                        "timeout": httpx.Timeout(remaining, connect=min(remaining, 5.0)).as_dict(),
                    },
                )
                with self._lock:
                    self.requests += 1
                return self._client.send(request, stream=True)
            except httpx.TimeoutException as exc:
                raise FetchError("timeout", f"{url} took longer than {self.timeout:g} s") from exc
            except httpx.HTTPError as exc:
                raise FetchError("network", f"{url} could not be fetched: {exc}") from exc
            finally:
                state.last = time.monotonic()

    def _read(
        self,
        url: str,
        response: httpx.Response,
        accept: frozenset[str],
        deadline: float,
        sent: int,
    ) -> Fetched:
        status = response.status_code
        if status == 304:
            return Fetched(
                url,
                304,
                etag=response.headers.get("etag"),
                last_modified=response.headers.get("last-modified"),
                requests=sent,
            )
        if not 200 <= status < 300:
            raise FetchError(
                "status",
                f"{url} answered HTTP {status}",
                retry_after=_retry_after(response.headers.get("retry-after")),
            )
        content_type, _, params = response.headers.get("content-type", "").partition(";")
        content_type = content_type.strip().lower()
        if content_type not in accept:
            raise FetchError(
                "content_type",
                f"{url} is {content_type or 'of no stated type'}, not one of {sorted(accept)}",
            )
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise FetchError("too_large", f"{url} is larger than {self.max_bytes} bytes")
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in response.iter_raw():
                size += len(chunk)
                if size > self.max_bytes:
                    raise FetchError("too_large", f"{url} is larger than {self.max_bytes} bytes")
                if time.monotonic() > deadline:
                    raise FetchError("timeout", f"{url} took longer than {self.timeout:g} s")
                chunks.append(chunk)
        except httpx.TimeoutException as exc:
            raise FetchError("timeout", f"{url} took longer than {self.timeout:g} s") from exc
        except httpx.HTTPError as exc:
            raise FetchError("network", f"{url} could not be read: {exc}") from exc
        body = b"".join(chunks)
        encoding = response.headers.get("content-encoding", "").lower()
        if encoding and encoding != "identity":
            body = _decode(url, body, encoding, self.max_bytes)
        charset = None
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.lower() == "charset" and value:
                charset = value.strip("\"' ")
        return Fetched(
            url,
            status,
            body,
            content_type,
            charset,
            etag=response.headers.get("etag"),
            last_modified=response.headers.get("last-modified"),
            requests=sent,
        )

    def _robots_allow(self, url: str, deadline: float) -> bool:
        """Whether robots.txt of ``url``'s origin lets us fetch it (missing or unreadable
        robots.txt allows everything)."""
        origin = _origin(url)
        state = self._host(f"robots {origin}")
        if state.robots is None or time.monotonic() - state.robots_at > 3600:
            parser = RobotFileParser()
            lines: list[str] = []
            try:
                response = self._send(f"{origin}/robots.txt", {}, deadline)
                try:
                    if response.status_code == 200:
                        data = response.read()[: self.max_bytes]
                        lines = data.decode("utf-8", errors="replace").splitlines()
                finally:
                    response.close()
            except FetchError as exc:
                if exc.outcome == "refused":
                    raise
            except httpx.HTTPError:
                pass
            parser.parse(lines)
            state.robots, state.robots_at = parser, time.monotonic()
        return state.robots.can_fetch(ROBOTS_AGENT, url)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _decode(url: str, body: bytes, encoding: str, limit: int) -> bytes:
    """Undo a gzip or deflate content encoding, stopping at ``limit`` bytes (a small body may
    inflate without end)."""
    import zlib

    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise FetchError("content_type", f"{url} uses the unsupported encoding {encoding!r}")
    wbits = 47 if encoding != "deflate" else 15  # 47: gzip or zlib header, detected
    inflater = zlib.decompressobj(wbits)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise FetchError("network", f"{url} sent a corrupt {encoding} body: {exc}") from exc
    if len(out) > limit:
        raise FetchError("too_large", f"{url} is larger than {limit} bytes once decompressed")
    return out
