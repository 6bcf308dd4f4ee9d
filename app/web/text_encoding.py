"""Percent-encoded text must be UTF-8: the query string, and form bodies (the login form).

Starlette decodes percent-encoded bytes with errors="replace": `?search=%ED%A0%80` (an encoded
lone surrogate, which PostgreSQL cannot store) would reach the app as U+FFFD and be accepted.
Such text is refused here with a 422 in FastAPI's shape, before the app parses it; JSON bodies
need nothing of the kind (bytes that are not UTF-8 make them unparseable: 400).
"""

from collections.abc import Iterator
from http import HTTPStatus
from urllib.parse import unquote_to_bytes

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.web.request_limits import refuse

FORM = "application/x-www-form-urlencoded"


def _decoded(part: bytes) -> bytes:
    return unquote_to_bytes(part.replace(b"+", b" "))


def broken_fields(encoded: bytes) -> Iterator[str]:
    """The names of the `name=value` pairs whose percent-decoded bytes are not UTF-8."""
    for pair in encoded.split(b"&"):
        name, _, value = (_decoded(part) for part in pair.partition(b"="))
        try:
            name.decode()
            value.decode()
        except UnicodeDecodeError:
            yield name.decode(errors="replace")


def _invalid(where: str, fields: list[str]) -> list[dict[str, object]]:
    return [
        {"type": "string_unicode", "loc": [where, field], "msg": "Input should be UTF-8 text"}
        for field in fields
    ]


class StrictUTF8:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if broken := list(broken_fields(scope["query_string"])):
            await refuse(send, HTTPStatus.UNPROCESSABLE_ENTITY, _invalid("query", broken))
            return
        if Headers(scope=scope).get("content-type", "").startswith(FORM):
            try:
                received = await self._read_form(receive)
            except HTTPException as error:  # the body deadline (request_limits.py)
                await refuse(send, HTTPStatus(error.status_code), error.detail)
                return
            body = b"".join(message.get("body", b"") for message in received)
            if broken := list(broken_fields(body)):
                await refuse(send, HTTPStatus.UNPROCESSABLE_ENTITY, _invalid("body", broken))
                return
            receive = _replay(received, receive)
        await self.app(scope, receive, send)

    async def _read_form(self, receive: Receive) -> list[Message]:
        """The body's messages, up to the size limit (past it the app answers 413)."""
        received: list[Message] = []
        size = 0
        while size <= self.max_body_bytes:
            message = await receive()
            received.append(message)
            size += len(message.get("body", b""))
            if message["type"] != "http.request" or not message.get("more_body", False):
                break
        return received


def _replay(received: list[Message], receive: Receive) -> Receive:
    """`receive` that hands out the messages already read first."""
    pending = list(received)

    async def replay() -> Message:
        return pending.pop(0) if pending else await receive()

    return replay
