"""The outermost layer: a request id and the security headers on every response, and one
access-log line per request. Also: CORS whose refusals are JSON like every other error."""

import re
import time
import uuid

from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.logging import access_logger, request_id_var

# A client's own id is kept when it is a plain token; anything else gets a fresh one.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")

# On every response (API.md). Browsers must not guess a content type other than the one sent.
SECURITY_HEADERS = ((b"x-content-type-options", b"nosniff"),)
# API answers carry per-user data (tokens, the caller's account, `voted`): no cache keeps them.
# Responses that say otherwise (the docs' static files) keep their own Cache-Control.
NO_STORE = (b"cache-control", b"no-store")


def new_request_id() -> str:
    return uuid.uuid4().hex


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        given = Headers(scope=scope).get("x-request-id", "")
        request_id = given if _SANE_REQUEST_ID.fullmatch(given) else new_request_id()
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 0

        async def send_with_request_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers.append("X-Request-ID", request_id)
                headers.raw.extend(SECURITY_HEADERS)
                if "cache-control" not in headers and headers.get("content-type", "").startswith(
                    "application/json"
                ):
                    headers.raw.append(NO_STORE)
            await send(message)

        try:
            await self.app(scope, receive, send_with_request_id)
        except Exception:
            # The error handler has logged the trace (with this request id) and answered
            # 500; Starlette re-raises so that servers can log it, which would log it twice.
            if not status:
                raise
        finally:
            duration_ms = round((time.perf_counter() - started) * 1000, 2)
            client = scope.get("client")
            access_logger.info(
                "%s %s %s %.1fms from %s",
                scope["method"],
                scope["path"],
                status,
                duration_ms,
                client[0] if client else "-",
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": duration_ms,
                    "client": client[0] if client else None,
                },
            )
            request_id_var.reset(token)


class JSONCORSMiddleware(CORSMiddleware):
    """Starlette's CORS, with its refusal of a preflight in JSON (`{"detail": ...}`) instead of
    plain text."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code < 400:
            return response
        refused = JSONResponse({"detail": bytes(response.body).decode()}, response.status_code)
        for name, value in response.headers.items():
            if name not in ("content-type", "content-length"):
                refused.headers[name] = value
        return refused
