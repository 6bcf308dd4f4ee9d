"""Bounds on what one request may cost: the size of its URL, headers and declared body, and
the time its body takes.

uvicorn accepts URLs up to 64 KiB and headers of any size and number (measured: a 1 MiB header
block, 100,000 headers) and waits for a body forever. Stalled bodies hold no database
connection (FastAPI reads the body before it resolves dependencies), but each holds a socket
and a task, which count against uvicorn's `limit_concurrency`: enough of them would turn every
request into a 503. A body that announces a Content-Length over the limit is refused here,
unread: Starlette would answer it with a plain-text 413 from outside every user middleware
(FastAPI's `max_body_size` still counts streamed bodies, in JSON). Answers are JSON
`{"detail": ...}` and close the connection; they pass through RequestContextMiddleware, so
they carry X-Request-ID and get an access-log line.
"""

import asyncio
import json
from http import HTTPStatus

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_URL_BYTES = 8 * 1024  # path and query string, as sent
MAX_HEADER_BYTES = 16 * 1024  # every "name: value" line, as sent


def url_bytes(scope: Scope) -> int:
    raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
    query: bytes = scope.get("query_string", b"")
    return len(raw_path) + (len(query) + 1 if query else 0)


def header_bytes(scope: Scope) -> int:
    return sum(len(name) + len(value) + 4 for name, value in scope["headers"])  # ": ", CRLF


def declared_body_bytes(scope: Scope) -> int:
    """The Content-Length the client sent; 0 when absent or malformed (the server rejects
    malformed lengths itself)."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else 0
    return 0


class RequestLimits:
    def __init__(
        self,
        app: ASGIApp,
        *,
        body_timeout: float,
        max_body_bytes: int,
        max_url_bytes: int = MAX_URL_BYTES,
        max_header_bytes: int = MAX_HEADER_BYTES,
    ) -> None:
        self.app = app
        self.body_timeout = body_timeout
        self.max_body_bytes = max_body_bytes
        self.max_url_bytes = max_url_bytes
        self.max_header_bytes = max_header_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if url_bytes(scope) > self.max_url_bytes:
            await refuse(send, HTTPStatus.REQUEST_URI_TOO_LONG)
            return
        if header_bytes(scope) > self.max_header_bytes:
            await refuse(send, HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE)
            return
        if declared_body_bytes(scope) > self.max_body_bytes:
            await refuse(send, HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "Content Too Large")
            return
        await self.app(scope, BodyDeadline(receive, self.body_timeout), send)


class BodyDeadline:
    """`receive`, with the whole body due within `timeout` seconds of the request's start.

    Past it, the read raises a 408 HTTPException: FastAPI re-raises those from body parsing,
    and the app's handler answers it in JSON. Reads after the body (disconnect checks) wait
    as long as they like."""

    def __init__(self, receive: Receive, timeout: float) -> None:
        self._receive = receive
        self._deadline = asyncio.get_running_loop().time() + timeout
        self._body_done = False

    async def __call__(self) -> Message:
        if self._body_done:
            return await self._receive()
        try:
            async with asyncio.timeout_at(self._deadline):
                message = await self._receive()
        except TimeoutError:
            raise HTTPException(
                HTTPStatus.REQUEST_TIMEOUT,
                "Request body not received in time",
                headers={"Connection": "close"},  # the rest of the body may never come
            ) from None
        if message["type"] != "http.request" or not message.get("more_body", False):
            self._body_done = True
        return message


async def refuse(send: Send, status: HTTPStatus, detail: object = None) -> None:
    """Answer `{"detail": detail}` (by default the status's phrase) and close the connection."""
    body = json.dumps({"detail": detail or status.phrase}, separators=(",", ":")).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status.value,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
