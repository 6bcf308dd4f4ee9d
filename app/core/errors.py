"""Errors that carry their HTTP status: services raise them, one handler (app/web/errors.py)
turns each into `{"detail": ...}`."""

from collections.abc import Mapping
from typing import ClassVar


class ServiceError(Exception):
    status_code: ClassVar[int] = 400
    detail: str = "Bad request"
    # Sent with every error of the class (WWW-Authenticate, Retry-After).
    default_headers: ClassVar[Mapping[str, str]] = {}

    def __init__(self, detail: str | None = None, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(detail or self.detail)
        if detail is not None:
            self.detail = detail
        self.headers = dict(self.default_headers if headers is None else headers)


class Unauthorized(ServiceError):
    status_code = 401
    detail = "Could not validate credentials"
    default_headers: ClassVar[Mapping[str, str]] = {"WWW-Authenticate": "Bearer"}


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
    default_headers: ClassVar[Mapping[str, str]] = {"Retry-After": "5"}


class BadRequest(ServiceError):
    status_code = 400
    detail = "Bad request"
