"""Errors that carry their HTTP status, and the handlers that turn everything into JSON."""

import json
import logging
import math
import re
from functools import cache
from typing import Any, ClassVar

import psycopg
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException
from starlette.responses import Response

logger = logging.getLogger("app.errors")


class ErrorMessage(BaseModel):
    """The body of every error the service raises (422 keeps FastAPI's own shape)."""

    detail: str


_DESCRIPTIONS = {
    400: "Body that cannot be parsed (not UTF-8, broken multipart)",
    401: "Missing, malformed, expired or revoked token (WWW-Authenticate: Bearer)",
    403: "Not the owner of the post",
    404: "Not found",
    409: "Conflict",
    413: "Request body over 1 MiB",
    429: "Too many attempts (Retry-After, in seconds)",
    503: "Database unavailable (Retry-After)",
}


def error_responses(*codes: int, **descriptions: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the errors a route can answer with, e.g.
    `error_responses(401, 404, _404="Post not found")`."""
    return {
        code: {
            "model": ErrorMessage,
            "description": descriptions.get(f"_{code}", _DESCRIPTIONS[code]),
        }
        for code in codes
    }


class ServiceError(Exception):
    status_code = 400
    detail = "Bad request"
    headers: ClassVar[dict[str, str] | None] = None

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail or self.detail)
        if detail is not None:
            self.detail = detail


class Unauthorized(ServiceError):
    status_code = 401
    detail = "Could not validate credentials"
    headers: ClassVar[dict[str, str] | None] = {"WWW-Authenticate": "Bearer"}


class Forbidden(ServiceError):
    status_code = 403
    detail = "Not authorized to perform requested action"


class NotFound(ServiceError):
    status_code = 404
    detail = "Not found"


class Conflict(ServiceError):
    status_code = 409
    detail = "Conflict"


class ServiceUnavailable(ServiceError):
    status_code = 503
    detail = "Database unavailable"
    headers: ClassVar[dict[str, str] | None] = {"Retry-After": "5"}


def _strict_json(value: Any) -> Any:
    """`1e400` is valid JSON that Python reads as infinity: echo it back as a string."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {key: _strict_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_strict_json(item) for item in value]
    return value


class EchoSafeJSONResponse(JSONResponse):
    """For errors that echo client input: a lone surrogate or an infinity must still make
    valid JSON (non-ASCII escaped, non-finite numbers as strings)."""

    def render(self, content: Any) -> bytes:
        return json.dumps(
            _strict_json(content), ensure_ascii=True, allow_nan=False, separators=(",", ":")
        ).encode()


async def _service_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceError)
    return JSONResponse({"detail": exc.detail}, exc.status_code, headers=exc.headers)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return EchoSafeJSONResponse({"detail": jsonable_encoder(exc.errors())}, 422)


_HTTP_METHODS = frozenset({"get", "head", "post", "put", "patch", "delete", "options", "trace"})


@cache
def _path_pattern(template: str) -> re.Pattern[str]:
    """`/posts/{post_id}` -> a pattern for `/posts/<one segment>`."""
    return re.compile(re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)))


def _allowed_methods(request: Request) -> str | None:
    """The methods the OpenAPI document lists for this path, for the 405's `Allow` header.

    Starlette names only the methods of the first route that matches the path, while this API
    declares each method separately (GET, PATCH and DELETE /users/me are three routes). The
    most literal template wins: `/posts/batch` is not `/posts/{post_id}`."""
    paths: dict[str, dict[str, Any]] = request.app.openapi()["paths"]
    path = request.scope["path"]
    templates = [template for template in paths if _path_pattern(template).fullmatch(path)]
    if not templates:
        return None  # a route outside the OpenAPI document (the docs): Starlette's answer
    template = min(templates, key=lambda template: template.count("{"))
    return ", ".join(method.upper() for method in paths[template] if method in _HTTP_METHODS)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        allowed = _allowed_methods(request)
        if allowed:
            exc = HTTPException(405, exc.detail, headers={"Allow": allowed})
    return await http_exception_handler(request, exc)


# From the session (SQLAlchemy's wrappers) and from the read path (psycopg itself; its pool's
# ReadPoolTimeout is an OperationalError).
_DATABASE_UNAVAILABLE = (
    OperationalError,
    InterfaceError,
    PoolTimeoutError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
)


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    logger.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc)
    return await _service_error(request, ServiceUnavailable())


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    # The trace goes to the log, never to the client.
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return JSONResponse({"detail": "Internal Server Error"}, 500)


def register_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    for db_error in _DATABASE_UNAVAILABLE:
        app.add_exception_handler(db_error, _database_unavailable)
    app.add_exception_handler(Exception, _unexpected)
