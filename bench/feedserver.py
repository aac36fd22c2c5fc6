"""A web server on loopback serving what each caller puts in its ``routes``: pages, feeds,
redirects, 304s, endless bodies and slow answers. The feed tests and `bench/feeds.py` start it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Route:
    """What one path answers."""

    body: bytes | str = b""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None  # answered with 304 when the request's If-None-Match matches
    delay: float = 0.0  # seconds before the answer
    endless: bool = False  # a body that never ends
    trickle: float = 0.0  # seconds between bytes of the body


@dataclass
class Request:
    """One request the server saw."""

    path: str
    headers: dict[str, str]


class FeedServer:
    """Serves ``routes`` (path -> ``Route``) on 127.0.0.1; records every request."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[Request] = []
        self._stop = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                server.requests.append(Request(self.path, dict(self.headers.items())))
                route = server.routes.get(self.path)
                if route is None:
                    self._answer(404, b"not found", "text/plain", {})
                    return
                if route.delay:
                    server._stop.wait(route.delay)
                if route.etag and self.headers.get("If-None-Match") == route.etag:
                    self._answer(304, b"", None, {"ETag": route.etag})
                    return
                headers = dict(route.headers)
                if route.etag:
                    headers["ETag"] = route.etag
                body = route.body.encode() if isinstance(route.body, str) else route.body
                if route.endless or route.trickle:
                    self._stream(route, body, headers)
                    return
                self._answer(route.status, body, route.content_type, headers)

            def _answer(
                self, status: int, body: bytes, ctype: str | None, headers: dict[str, str]
            ) -> None:
                self.send_response(status)
                if ctype:
                    self.send_header("Content-Type", ctype)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _stream(self, route: Route, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(route.status)
                self.send_header("Content-Type", route.content_type)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                try:
                    self.wfile.write(body)
                    while not server._stop.is_set():
                        if route.trickle:
                            server._stop.wait(route.trickle)
                            self.wfile.write(b" ")
                        else:
                            self.wfile.write(b"<p>more and more</p>" * 500)
                        self.wfile.flush()
                        if not route.endless and not route.trickle:
                            break
                except OSError:
                    pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        """The address of ``path`` on this server."""
        return f"http://127.0.0.1:{self.port}{path}"

    def hits(self, path: str) -> int:
        """How many requests asked for ``path``."""
        return sum(1 for r in self.requests if r.path == path)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def feed_server() -> Iterator[FeedServer]:
    """A started server, stopped on exit."""
    server = FeedServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def page(
    title: str,
    paragraphs: list[str],
    date: str | None = None,
    author: str | None = None,
    site: str = "Test Herald",
) -> str:
    """A news article page that trafilatura reads: title, byline, date, body."""
    meta = [f'<meta property="og:site_name" content="{site}">']
    if date:
        meta.append(f'<meta property="article:published_time" content="{date}">')
    if author:
        meta.append(f'<meta name="author" content="{author}">')
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f"<html><head><title>{title}</title>{''.join(meta)}</head><body>"
        f"<nav><a href='/'>Home</a></nav><article><h1>{title}</h1>{body}</article>"
        "<footer>Copyright</footer></body></html>"
    )
