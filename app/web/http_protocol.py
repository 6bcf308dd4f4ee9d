"""uvicorn's httptools protocol, with what uvicorn lacks at the level of the connection.

Measured with uvicorn 0.54: a connection that sends its request line and headers a byte at a
time (slowloris), or nothing at all, is kept open forever, and counts against
`limit_concurrency` (500 such sockets made every request a 503 at a limit of 100). Heads of any
size are buffered whole (a 16 MiB URL, 100,000 headers). Here the head must arrive within
REQUEST_HEADER_TIMEOUT seconds, and within MAX_HEAD_BYTES. Exact limits (414, 431, in JSON and
with a request id) are app/web/request_limits.py's job, once uvicorn hands the request over;
this is the guard for heads that never end.

uvicorn also answers some requests itself, in plain text: malformed HTTP (a NUL in a header, a
bad or doubled Content-Length, an unknown method) with a 400, and requests past
`limit_concurrency` with a 503. Here those are JSON `{"detail": ...}` with a request id and the
security headers, like every other answer (API.md).

`python -m app.serve` runs it (`http="app.web.http_protocol:BoundedHttpToolsProtocol"`). It
subclasses a private uvicorn module: uvicorn is pinned, and tests/test_uvicorn_pin.py guards it.
"""

import asyncio
import json
from http import HTTPStatus
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app.core.config import settings
from app.web.middleware import NO_STORE, SECURITY_HEADERS, new_request_id

# Request line and headers. Above request_limits.py's bounds (8 KiB URL, 16 KiB headers), so
# that ordinary oversized requests get their JSON answer there; this one caps memory.
MAX_HEAD_BYTES = 64 * 1024
# After a refusal, what the client is still sending is read and dropped for this long before
# closing: closing on unread data resets the connection, and the client never sees the answer.
LINGER_SECONDS = 1.0
# httptools cannot split a longer URL (16-bit offsets): uvicorn would answer a plain-text 400.
PARSEABLE_URL_BYTES = 0xFFFF


class HeadRefused(Exception):
    """Raised from a parser callback, after the answer is written, to stop the parser."""


def error_response(status: HTTPStatus, detail: str | None = None) -> bytes:
    """A whole HTTP response, written by the protocol itself: JSON, a request id of its own
    (the request never reached the app), the security headers, and the connection closed."""
    body = json.dumps({"detail": detail or status.phrase}, separators=(",", ":")).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"x-request-id", new_request_id().encode()),
        *SECURITY_HEADERS,
        NO_STORE,
        (b"connection", b"close"),
    ]
    head = f"HTTP/1.1 {status.value} {status.phrase}\r\n".encode()
    head += b"".join(name + b": " + value + b"\r\n" for name, value in headers)
    return head + b"\r\n" + body


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_deadline: asyncio.TimerHandle | None = None
        self._head_started = False  # a byte of the current request arrived
        self._head_complete = False
        self._head_bytes = 0
        self._lingering = False

    # A connection that opens and says nothing is a head that never arrives.
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]  # as uvicorn declares it
        super().connection_made(transport)
        self._arm_head_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_deadline()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._lingering:
            return
        super().data_received(data)
        if self._head_complete or self.transport.is_closing():
            return
        # The whole chunk went into a head that is still not complete.
        self._head_bytes += len(data)
        if self._head_bytes > MAX_HEAD_BYTES:
            url_is_most = len(self.url) * 2 > self._head_bytes
            self._refuse(
                HTTPStatus.REQUEST_URI_TOO_LONG
                if url_is_most
                else HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE
            )

    # Parser callbacks: a request starts, its head ends.
    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_started = True
        self._head_complete = False
        self._head_bytes = 0
        if self._head_deadline is None:  # not the connection's first request
            self._arm_head_deadline()

    def on_headers_complete(self) -> None:
        self._head_complete = True
        self._disarm_head_deadline()
        if len(self.url) > PARSEABLE_URL_BYTES:
            self._refuse(HTTPStatus.REQUEST_URI_TOO_LONG)
            raise HeadRefused
        if self._over_concurrency_limit():  # uvicorn's own check, which answers in plain text
            self.logger.warning("Exceeded concurrency limit.")
            self._refuse(HTTPStatus.SERVICE_UNAVAILABLE)
            raise HeadRefused
        super().on_headers_complete()

    def _over_concurrency_limit(self) -> bool:
        limit = self.limit_concurrency
        return limit is not None and (len(self.connections) >= limit or len(self.tasks) >= limit)

    def send_400_response(self, msg: str) -> None:
        """Malformed HTTP: uvicorn's plain-text 400, in JSON."""
        if self._lingering:  # the parser stopped on HeadRefused: answered already
            return
        self.transport.write(error_response(HTTPStatus.BAD_REQUEST, msg))
        self.transport.close()

    def _arm_head_deadline(self) -> None:
        self._disarm_head_deadline()
        self._head_deadline = self.loop.call_later(
            settings.REQUEST_HEADER_TIMEOUT, self._refuse, HTTPStatus.REQUEST_TIMEOUT
        )

    def _disarm_head_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _refuse(self, status: HTTPStatus) -> None:
        """Answer `status` and close, unless the client never sent a byte (then just close)."""
        self._disarm_head_deadline()
        if self.transport.is_closing():
            return
        # Never write into another response: a pipelined head waits behind a running request.
        previous_done = self.cycle is None or self.cycle.response_complete
        if not (self._head_started and previous_done):
            self.transport.close()
            return
        self.transport.write(error_response(status))
        self._lingering = True
        self.flow.resume_reading()
        if self.transport.can_write_eof():
            self.transport.write_eof()  # the answer is complete: the client may close now
        self.loop.call_later(LINGER_SECONDS, self.transport.close)
