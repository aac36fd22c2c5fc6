"""Errors of the OpenAI-compatible routes in OpenAI's shape.

Every other route answers an error with ``{"detail": ...}``, from the exception handlers and the
limit middlewares alike; under ``/v1`` this middleware rewrites that answer, whoever wrote it,
into ``{"error": {"message", "type", "param", "code"}}``, and a 422 into OpenAI's 400, so that
OpenAI's clients raise the error they document (``BadRequestError``, ``RateLimitError``...).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.openai_schemas import OpenAIError, OpenAIErrorDetail

# status -> (type, code), as OpenAI's API names them
_KINDS: dict[int, tuple[str, str | None]] = {
    400: ("invalid_request_error", None),
    401: ("authentication_error", "invalid_api_key"),
    403: ("permission_error", None),
    404: ("invalid_request_error", "not_found"),
    405: ("invalid_request_error", "method_not_allowed"),
    413: ("invalid_request_error", "request_too_large"),
    429: ("rate_limit_error", "rate_limit_exceeded"),
    503: ("server_error", "service_unavailable"),
}


def openai_error(status: int, body: bytes) -> bytes:
    """The error body ``body`` (``{"detail": ..., "errors"?: [...]}``, or any text) in OpenAI's
    shape; a body already in that shape is kept."""
    try:
        data: Any = json.loads(body)
    except ValueError:
        data = body.decode("utf-8", "replace")
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        return body
    detail = data.get("detail", data) if isinstance(data, dict) else data
    message = detail if isinstance(detail, str) else json.dumps(detail)
    param = None
    errors = data.get("errors") if isinstance(data, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        where = [str(p) for p in errors[0].get("loc", ()) if p != "body"]
        param = ".".join(where) or None
    kind, code = _KINDS.get(
        status, ("server_error" if status >= 500 else "invalid_request_error", None)
    )
    error = OpenAIError(
        error=OpenAIErrorDetail(message=message or "error", type=kind, param=param, code=code)
    )
    return error.model_dump_json().encode("utf-8")


class OpenAIErrorMiddleware:
    """Rewrites the error answers of paths under ``prefix`` into OpenAI's error shape."""

    def __init__(self, app: ASGIApp, prefix: str = "/v1/") -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not f"{scope['path']}/".startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        parts: list[bytes] = []

        async def rewriting_send(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start" and message["status"] >= 400:
                start = message
                return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            parts.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            status = 400 if start["status"] == 422 else start["status"]
            body = openai_error(status, b"".join(parts))
            headers = [
                (k, v)
                for k, v in start.get("headers", [])
                if k.lower() not in (b"content-length", b"content-type")
            ]
            headers += [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ]
            await send({**start, "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, rewriting_send)
