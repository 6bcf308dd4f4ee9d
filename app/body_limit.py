"""The JSON 413 for bodies that announce their size.

FastAPI's `max_body_size` counts the bytes of every body, streamed ones included, and answers
those with JSON. When the client *declares* a Content-Length over the limit, though, Starlette
replaces the response with a plain-text 413 from outside all user middleware. This check runs
first, answers such requests in JSON and reads nothing of their bodies.
"""

import json

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send


class RejectDeclaredOversizedBodies:
    def __init__(self, app: ASGIApp, max_body_size: int) -> None:
        self.app = app
        self.max_body_size = max_body_size
        self._body = json.dumps({"detail": "Content Too Large"}, separators=(",", ":")).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self._declared_too_large(scope):
            await send(
                {
                    "type": "http.response.start",
                    "status": 413,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(self._body)).encode()),
                        (b"connection", b"close"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": self._body})
            return
        await self.app(scope, receive, send)

    def _declared_too_large(self, scope: Scope) -> bool:
        declared = Headers(scope=scope).get("content-length")
        if declared is None:
            return False
        try:
            return int(declared) > self.max_body_size
        except ValueError:
            return False  # the server rejects malformed lengths itself
