"""The handlers that turn every error into JSON: service errors, validation errors, HTTP errors,
a database that cannot be reached (503), and anything unexpected (500, its trace logged)."""

import json
import logging
import math
import re
from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from app.core.errors import ServiceError, ServiceUnavailable

logger = logging.getLogger("app.errors")


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
    return JSONResponse({"detail": exc.detail}, exc.status_code, headers=exc.headers or None)


# A 422 never echoes these: a password (even a wrong one) or a token is a secret.
SECRET_FIELDS = frozenset(
    {"password", "current_password", "new_password", "token", "refresh_token"}
)

# FastAPI's own words for a body it cannot read (not UTF-8, a broken form), now also for JSON
# that does not parse: the client's mistake is in the syntax, not in a field (API.md: 400).
UNPARSABLE_BODY = "There was an error parsing the body"


def _texts(value: Any) -> Iterator[str]:
    """Every string in `value`, at any depth (mapping keys aside)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _texts(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _texts(item)


def _submitted_secrets(value: Any) -> set[str]:
    """The texts sent under a secret field name, anywhere in the body (a JSON document or a
    form), however deep: what no error may repeat."""
    found: set[str] = set()
    if isinstance(value, Mapping):
        for key, item in value.items():
            found |= set(_texts(item)) if key in SECRET_FIELDS else _submitted_secrets(item)
    elif isinstance(value, list | tuple):
        for item in value:
            found |= _submitted_secrets(item)
    return {text for text in found if text}


def _may_hold_a_secret(value: Any, secrets: set[str]) -> bool:
    """True unless `value` has no secret field name at any depth and no text that contains
    one of the submitted secrets."""
    if _submitted_secrets(value) or (isinstance(value, Mapping) and SECRET_FIELDS & value.keys()):
        return True
    return any(secret in text for text in _texts(value) for secret in secrets)


def _without_secrets(error: dict[str, Any], secrets: set[str]) -> dict[str, Any]:
    """The error as FastAPI reports it, minus the rejected value (`input`) unless it is the
    value of a named field that is not a secret, and proven to carry no secret: a whole body
    (an array, a bare string: `loc` is just `["body"]`), an array item, a secret field's value
    and anything holding or repeating a secret are left out."""
    loc = error.get("loc", ())
    field = loc[-1] if len(loc) > 1 else None
    echoes = isinstance(field, str) and field not in SECRET_FIELDS
    if "input" in error and not (echoes and not _may_hold_a_secret(error["input"], secrets)):
        return {key: item for key, item in error.items() if key != "input"}
    return error


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    if any(error.get("type") == "json_invalid" for error in errors):
        return JSONResponse({"detail": UNPARSABLE_BODY}, 400)
    secrets = _submitted_secrets(exc.body)
    safe = [_without_secrets(error, secrets) for error in errors]
    return EchoSafeJSONResponse({"detail": jsonable_encoder(safe)}, 422)


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


def _canonical_path(request: Request) -> str | None:
    """For `/posts/` and the like: the API's path without the trailing slash, if there is one."""
    path: str = request.scope["path"]
    if path == "/" or not path.endswith("/"):
        return None
    canonical = path.rstrip("/")
    paths: dict[str, Any] = request.app.openapi()["paths"]
    if any(_path_pattern(template).fullmatch(canonical) for template in paths):
        return canonical
    return None


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404 and (canonical := _canonical_path(request)):
        # Starlette would build the Location from the Host header (any host a client names);
        # a relative one keeps the client on the server it asked.
        query = request.scope["query_string"].decode("latin-1")
        location = f"{canonical}?{query}" if query else canonical
        return RedirectResponse(location, status_code=307)
    if exc.status_code == 405:
        allowed = _allowed_methods(request)
        if allowed:
            exc = HTTPException(405, exc.detail, headers={"Allow": allowed})
    return await http_exception_handler(request, exc)


# From SQLAlchemy (its wrappers, and its pool's timeout) and from the read path, which runs its
# statement on psycopg itself (app/db/reads.py).
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
