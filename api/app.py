"""The FastAPI application: API routes, the chat page, and error handling."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.routing import Match, Mount

from api.feed_metrics import FeedCollector
from api.limits import BodyLimitMiddleware, Busy, RateLimitMiddleware, WorkLimiter
from api.mcp import mcp_transport, mount_mcp
from api.observability import Metrics, RequestLogMiddleware
from api.openai_errors import OpenAIErrorMiddleware
from api.routes import articles, ask, conversations, feeds, health, openai, timeline
from api.security import SecurityHeadersMiddleware, mount_docs, public_detail
from index.errors import ArticleNotFoundError, CorpusError, InvalidArticleError
from qa.conversation.store import ConversationError
from qa.errors import QuestionError
from service.poller import FeedService, Poller
from service.services import Services, build_services
from service.settings import Settings, get_settings

log = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).parent / "static"


def _describe(error: dict[str, Any]) -> str:
    """One validation error as "where: what", e.g. "body.top_k: must be at most 50"."""
    where = ".".join(str(part) for part in error.get("loc", ()) if part != "body") or "body"
    message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    return f"{where}: {message}"


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    return JSONResponse(
        status_code=422,
        content={
            "detail": "; ".join(_describe(e) for e in errors) or "invalid request",
            "errors": [{"loc": list(e.get("loc", ())), "msg": e.get("msg")} for e in errors],
        },
    )


def _error(status: int) -> Callable[[Request, Exception], Any]:
    async def handler(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(status_code=status, content={"detail": str(exc)})

    return handler


async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
    # The whole message stays in the server's log; a client learns what failed, not where.
    log.error("the index cannot serve %s %s: %s", request.method, request.url.path, exc)
    detail = public_detail(str(exc))
    return JSONResponse(status_code=503, content={"detail": f"the index cannot be used: {detail}"})


async def _busy(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(
        status_code=503, content={"detail": f"busy: {exc}"}, headers={"Retry-After": "1"}
    )


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


async def _method_not_allowed(request: Request, exc: Exception) -> JSONResponse:
    """405 naming in Allow every method the path takes: Starlette names only those of the route
    that raised, and GET, PUT and DELETE of an article are three routes."""
    headers = getattr(exc, "headers", None) or {}
    named = {m.strip() for m in headers.get("Allow", "").split(",") if m.strip()}
    # The root path as the app received it (a mount that matched has lengthened it since);
    # mounts are left out, since they match every method and refuse inside (StaticFiles names
    # its own).
    scope = {**request.scope, "root_path": request.scope.get("app_root_path", "")}
    routes = [r for r in request.app.router.routes if not isinstance(r, Mount)]
    allowed = [
        method
        for method in _METHODS
        if method in named
        or any(r.matches({**scope, "method": method})[0] is Match.FULL for r in routes)
    ]
    return JSONResponse(
        status_code=405,
        content={"detail": "Method Not Allowed"},
        headers={"Allow": ", ".join(allowed)},
    )


def _body_limit(settings: Settings) -> Callable[[str, str], int]:
    """Uploads may be large on the write routes; every other body is small."""

    def limit_for(method: str, path: str) -> int:
        if method in ("POST", "PUT") and path.startswith("/api/articles"):
            return settings.max_upload_bytes
        return settings.max_body_bytes

    return limit_for


def create_app(
    settings: Settings | None = None,
    services_factory: Callable[[Settings], Services] = build_services,
) -> FastAPI:
    """Build the app; the lifespan loads the model and the corpus once, before serving."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = await run_in_threadpool(services_factory, settings)
        app.state.services = services
        app.state.feeds = FeedService.build(
            settings,
            services.corpus,
            services.embedder,
            stories=getattr(services.answerer, "stories", None),
        )
        poller = Poller(app.state.feeds) if settings.feed_poll else None
        if poller is not None:
            poller.start()
        try:
            async with mcp_transport(app, services):
                yield
        finally:
            if poller is not None:
                poller.stop()
            app.state.feeds.close()
            services.close()

    app = FastAPI(
        title="Cited answers",
        summary="Answers questions about news articles with quoted, cited passages.",
        version="0.1.0",
        lifespan=lifespan,
        # Served below from this server's own files when enabled; ReDoc would need a CDN.
        docs_url=None,
        redoc_url=None,
        # Starlette's trailing-slash redirect builds its Location from the Host header, which
        # the client chose: a path with a stray slash is a 404 instead.
        redirect_slashes=False,
        openapi_url="/openapi.json" if settings.docs else None,
    )
    app.state.work = WorkLimiter(settings.max_concurrent_questions, settings.max_queued_questions)
    metrics = Metrics(lambda: _snapshot(app))
    app.state.metrics = metrics
    metrics.registry.register(FeedCollector(lambda: getattr(app.state, "feeds", None)))
    # Outermost last: every answer, even a 413 or a 429, gets its request id, log line and
    # headers.
    app.add_middleware(BodyLimitMiddleware, limit_for=_body_limit(settings))
    if settings.rate_limit:
        app.add_middleware(
            RateLimitMiddleware, rate=settings.rate_limit, prefix=("/api/", "/v1/", "/mcp")
        )
    # Inside the request log and headers, outside the limits: their refusals are rewritten too.
    app.add_middleware(OpenAIErrorMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(RequestLogMiddleware, metrics=metrics)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(QuestionError, _error(422))
    app.add_exception_handler(InvalidArticleError, _error(422))
    app.add_exception_handler(ArticleNotFoundError, _error(404))
    app.add_exception_handler(ConversationError, _error(404))
    app.add_exception_handler(CorpusError, _unavailable)
    app.add_exception_handler(Busy, _busy)
    app.add_exception_handler(405, _method_not_allowed)
    app.include_router(health.router)
    app.include_router(ask.router)
    app.include_router(articles.router)
    app.include_router(conversations.router)
    app.include_router(timeline.router)
    app.include_router(feeds.router)
    app.include_router(openai.router)
    mount_mcp(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    if settings.docs:
        mount_docs(app)

    @app.get("/metrics", include_in_schema=False)
    def prometheus_metrics() -> Response:
        return Response(metrics.exposition(), media_type="text/plain; version=0.0.4")

    @app.get("/", include_in_schema=False)
    def chat_page() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html")

    return app


def _snapshot(app: FastAPI) -> Any:
    services = getattr(app.state, "services", None)
    return services.corpus.snapshot if services is not None else None
