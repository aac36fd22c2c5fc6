"""MCP's streamable HTTP transport at ``/mcp``: the MCP server (``mcp_server``) over the app's
services, its blocking work through the question limiter, as the API's questions.

Stateless (each request stands alone, no session is kept), so any replica behind a balancer can
answer any request, and with JSON responses rather than event streams. The SDK's DNS-rebinding
check (Host and Origin headers held to loopback) is off: the server is reached under whatever
name it is deployed at, its reads are as open as the rest of the API's, and it has no writes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

from fastapi import FastAPI
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.transport_security import TransportSecuritySettings
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from api.limits import Busy, WorkLimiter
from mcp_server.server import build_server
from service.services import Services

T = TypeVar("T")
PATH = "/mcp"


class _Limited:
    """Runs a tool's work through the question limiter; too much waiting is a tool error."""

    def __init__(self, work: WorkLimiter) -> None:
        self.work = work

    async def __call__(self, fn: Callable[[], T], /) -> T:
        try:
            result: T = await self.work.run(fn)
        except Busy as exc:
            raise ToolError(f"busy: {exc}") from exc
        return result


@asynccontextmanager
async def mcp_transport(app: FastAPI, services: Services) -> AsyncIterator[None]:
    """Serve MCP at ``/mcp`` while the app runs (a lifespan's part): a new server and session
    manager per lifespan, as the SDK's manager runs once."""
    server = build_server(services, _Limited(app.state.work))
    app.state.mcp = server.streamable_http_app(
        streamable_http_path=PATH,
        stateless_http=True,
        json_response=True,
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    async with server.session_manager.run():
        yield
    app.state.mcp = None


class _Endpoint:
    """Hands each request to the transport of the running lifespan (an ASGI app, so that the
    route passes the request on as it came)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        transport = getattr(scope["app"].state, "mcp", None)
        if transport is None:
            raise RuntimeError("the MCP transport is not running")
        await transport(scope, receive, send)


def mount_mcp(app: FastAPI) -> None:
    """Route ``/mcp`` (every method: POST for messages, GET and DELETE as the transport
    answers them) to the MCP transport ``mcp_transport`` runs."""
    app.router.routes.append(Route(PATH, endpoint=_Endpoint(), include_in_schema=False))
