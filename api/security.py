"""Response headers that keep the pages from being framed, sniffed or fed foreign scripts, the
API docs served from this server rather than a CDN, and the scrubbing of what an error tells a
client."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Scripts and styles only from this origin, nothing inline; no framing (which only a header can
# forbid, not a <meta> tag).
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
# Swagger UI sets style attributes from its scripts.
DOCS_CSP = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
# What an unavailable index tells a client: what failed, never where (a file path, a URI, an
# address) nor why in the backend's words (Milvus quotes the filter expression it could not
# parse). The server's log keeps the whole message.
_CAUSE = re.compile(r":\s")
_URI = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://\S*")
_IPV4 = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b")
_HOST_PORT = re.compile(r"\b[A-Za-z0-9][A-Za-z0-9.-]*:\d{1,5}\b")
_PATH = re.compile(r"(?:/[^\s'\"/:]+){2,}/?")


def public_detail(message: str) -> str:
    """``message`` as a client may read it: its first clause (up to the first ": ", where a
    cause in another system's words begins), with URIs and addresses as ``<address>`` and
    absolute paths as ``<data dir>``."""
    what = _CAUSE.split(message, maxsplit=1)[0]
    what = _URI.sub("<address>", what)
    what = _IPV4.sub("<address>", what)
    what = _HOST_PORT.sub("<address>", what)
    return _PATH.sub("<data dir>", what).strip()


HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


class SecurityHeadersMiddleware:
    """Adds the CSP and the other headers above to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = DOCS_CSP if scope["path"].startswith("/docs") else CSP

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Content-Security-Policy"] = csp
                for name, value in HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, with_headers)


DOCS_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{title}: API</title>
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script src="/static/docs.js"></script>
</body>
</html>
"""


def mount_docs(app: FastAPI) -> None:
    """Serve Swagger UI at /docs from the files the ``fastapi-offline`` package ships (Swagger
    UI 5, which reads the OpenAPI 3.1 that FastAPI writes)."""
    import fastapi_offline

    assets = Path(fastapi_offline.__file__).parent / "static"
    page = DOCS_PAGE.format(title=app.title)
    app.mount("/docs/assets", StaticFiles(directory=assets), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return HTMLResponse(page)
