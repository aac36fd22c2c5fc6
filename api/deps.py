"""Dependencies that hand the app's long-lived objects to the routes, and guard the writes.

They are coroutines: they only read app state, and FastAPI runs a plain function dependency in
its thread pool, a thread hop per dependency per request."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request

from api.limits import WorkLimiter
from api.observability import Metrics
from service.services import Services


async def get_services(request: Request) -> Services:
    """The services loaded in the app's lifespan."""
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def get_work(request: Request) -> WorkLimiter:
    """Where questions wait for a free slot of model work."""
    work: WorkLimiter = request.app.state.work
    return work


WorkDep = Annotated[WorkLimiter, Depends(get_work)]


async def get_metrics(request: Request) -> Metrics:
    """The app's metrics."""
    metrics: Metrics = request.app.state.metrics
    return metrics


MetricsDep = Annotated[Metrics, Depends(get_metrics)]


async def require_writer(
    services: ServicesDep,
    authorization: Annotated[str | None, Header(description="Bearer <QA_API_KEY>")] = None,
) -> None:
    """Let the request through only with the configured API key as a bearer token."""
    key = services.settings.api_key
    if key is None:
        raise HTTPException(
            403,
            "writes are disabled on this server: start it with QA_API_KEY set, then send "
            "'Authorization: Bearer <key>'",
        )
    scheme, _, token = (authorization or "").partition(" ")
    # Header values arrive as bytes read as Latin-1; a key is compared as its UTF-8 bytes, so a
    # non-ASCII key sent as UTF-8 matches.
    expected = key.get_secret_value().strip().encode()
    try:
        sent = token.strip().encode("latin-1")
    except UnicodeEncodeError:
        sent = b""
    if scheme.lower() != "bearer" or not sent or not secrets.compare_digest(sent, expected):
        raise HTTPException(
            401,
            "missing or wrong API key: send 'Authorization: Bearer <key>'",
            headers={"WWW-Authenticate": "Bearer"},
        )


WriterDep = Depends(require_writer)
