"""Limits on what one client may send: body sizes enforced while reading, a rate per address,
and a cap on the questions worked on at once."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from typing import Any

import anyio
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


async def send_json(send: Send, status: int, detail: str, headers: dict[str, str]) -> None:
    """Answer with ``{"detail": ...}`` from inside a middleware."""
    body = json.dumps({"detail": detail}).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class BodyLimitMiddleware:
    """Refuse a body over its route's limit with 413, counting bytes as they arrive, so neither
    a false Content-Length nor a chunked upload makes the server buffer more than the limit."""

    def __init__(self, app: ASGIApp, limit_for: Callable[[str, str], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["method"], scope["path"])
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length", b"").decode("latin-1").strip()
        if declared.isdigit() and int(declared) > limit:
            await send_json(send, 413, f"the body is {declared} bytes; the limit is {limit}", {})
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(413, f"the body is over the limit of {limit} bytes")
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except HTTPException as exc:
            # Raised where no exception handler runs (outside a route): answer it here.
            if exc.status_code != 413 or started:
                raise
            await send_json(send, 413, str(exc.detail), {})


class RateLimitMiddleware:
    """At most ``rate`` requests per client address on paths under ``prefix`` (one, or a tuple
    of them); past it, 429
    with ``Retry-After``. A moving window, kept in this process's memory."""

    def __init__(self, app: ASGIApp, rate: str, prefix: str | tuple[str, ...] = "/api/") -> None:
        self.app = app
        self.items: list[RateLimitItem] = parse_many(rate)
        self.prefix = prefix
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        key = client[0] if client else "unknown"
        for item in self.items:
            if not self.limiter.hit(item, key):
                reset, _ = self.limiter.get_window_stats(item, key)
                retry = max(1, math.ceil(reset - time.time()))
                await send_json(
                    send,
                    429,
                    f"too many requests: the limit is {item} per client; retry in {retry} s",
                    {"Retry-After": str(retry)},
                )
                return
        await self.app(scope, receive, send)


class WorkLimiter:
    """Runs blocking model work in threads, ``concurrent`` at a time; up to ``queued`` more
    wait their turn, and past that the caller is told to come back (``Busy``)."""

    def __init__(self, concurrent: int, queued: int) -> None:
        self.limiter = anyio.CapacityLimiter(concurrent)
        self.queued = queued

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)`` in a worker thread once a slot is free."""
        stats = self.limiter.statistics()
        full = stats.borrowed_tokens >= self.limiter.total_tokens
        if full and stats.tasks_waiting >= self.queued:
            raise Busy(f"{stats.tasks_waiting} questions are already waiting; retry shortly")
        return await anyio.to_thread.run_sync(fn, *args, limiter=self.limiter)


class Busy(RuntimeError):
    """Too much work is waiting already."""
