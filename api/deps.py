"""Dependencies that hand the app's long-lived objects to the routes, and guard the writes."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request

from api.services import Services


def get_services(request: Request) -> Services:
    """The services loaded in the app's lifespan."""
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def require_writer(
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
    expected = key.get_secret_value().encode()
    if scheme.lower() != "bearer" or not secrets.compare_digest(token.strip().encode(), expected):
        raise HTTPException(
            401,
            "missing or wrong API key: send 'Authorization: Bearer <key>'",
            headers={"WWW-Authenticate": "Bearer"},
        )


WriterDep = Depends(require_writer)
