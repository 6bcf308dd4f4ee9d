"""Logging: readable lines in development, JSON lines in production, each with its request id."""

import logging
import sys
from contextvars import ContextVar
from typing import Any

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

# Set by the request middleware for the duration of each request.
request_id_var: ContextVar[str] = ContextVar("request_id", default="-")

logger = logging.getLogger("app")
access_logger = logging.getLogger("app.access")


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


def json_formatter() -> logging.Formatter:
    """One JSON object per line (python-json-logger): time (UTC, ISO 8601), level, logger,
    message, request_id, the exception's trace if any, and the `extra=` fields of the record
    (the access line's method, path, status, duration_ms, client)."""
    return JsonFormatter(
        "{levelname}{name}{message}{request_id}",
        style="{",
        rename_fields={"levelname": "level", "name": "logger", "exc_info": "exception"},
        timestamp="time",
        json_ensure_ascii=False,
        # uvicorn's records carry the same message with terminal colours.
        reserved_attrs=[*RESERVED_ATTRS, "color_message"],
    )


TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s [%(request_id)s] %(message)s"


def configure_logging(log_format: str, level: str) -> None:
    """The app's loggers write to stdout, where Render and Railway collect logs."""
    handler = logging.StreamHandler(sys.stdout)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(
        json_formatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    )
    logger.handlers = [handler]
    logger.setLevel(level)
    logger.propagate = False
    # The app writes its own access line (with the request id): the server's would repeat it.
    logging.getLogger("uvicorn.access").disabled = True


def uvicorn_log_config(log_format: str, level: str) -> dict[str, Any]:
    """uvicorn's own lines (start-up, shutdown, errors) in the app's format, on stdout beside
    the app's: one format for a log collector. Its access lines stay off (the app writes its
    own, with the request id)."""
    formatter: dict[str, Any] = (
        {"()": f"{__name__}.json_formatter"} if log_format == "json" else {"format": TEXT_FORMAT}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": f"{__name__}.RequestIdFilter"}},
        "formatters": {"app": formatter},
        "handlers": {
            "stdout": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stdout",
                "formatter": "app",
                "filters": ["request_id"],
            }
        },
        "loggers": {
            "uvicorn": {"handlers": ["stdout"], "level": level, "propagate": False},
            "uvicorn.error": {"level": level},
            "uvicorn.access": {"handlers": [], "level": level, "propagate": False},
        },
    }
