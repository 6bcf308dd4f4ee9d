"""Logging: readable lines in development, JSON lines in production, each with its request id."""

import atexit
import json
import logging
import sys
import threading
from contextvars import ContextVar
from datetime import UTC, datetime
from queue import SimpleQueue
from typing import TextIO

# Set by the request middleware for the duration of each request.
request_id_var: ContextVar[str] = ContextVar("request_id", default="-")

logger = logging.getLogger("app")
access_logger = logging.getLogger("app.access")

# Fields the access log passes through `extra=`, shown as they are in JSON.
ACCESS_FIELDS = ("method", "path", "status", "duration_ms", "client")


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        entry.update({f: getattr(record, f) for f in ACCESS_FIELDS if hasattr(record, f)})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s [%(request_id)s] %(message)s"


class BackgroundStreamHandler(logging.Handler):
    """Formats and writes records on a thread of its own, all the lines waiting in one write.

    The event loop never waits on the stream (a log collector's pipe can be slow, or full),
    and a busy server makes one system call per batch of access lines, not one per request.
    Records still waiting are written when the process exits."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__()
        self.stream = stream
        self._queue: SimpleQueue[logging.LogRecord | None] = SimpleQueue()
        self._writer = threading.Thread(target=self._write_batches, name="log-writer", daemon=True)
        self._writer.start()
        atexit.register(self.close)

    def emit(self, record: logging.LogRecord) -> None:
        self._queue.put(record)

    def _write_batches(self) -> None:
        done = False
        while not done:
            batch = [self._queue.get()]
            while not self._queue.empty():
                batch.append(self._queue.get_nowait())
            done = None in batch
            lines = [self._line(record) for record in batch if record is not None]
            try:
                self.stream.write("".join(lines))
                self.stream.flush()
            except Exception:  # a closed stream at exit: nothing left to tell
                pass

    def _line(self, record: logging.LogRecord) -> str:
        try:
            return self.format(record) + "\n"
        except Exception:
            self.handleError(record)
            return ""

    def close(self) -> None:
        if self._writer.is_alive():
            self._queue.put(None)
            self._writer.join(timeout=5)
        super().close()


def configure_logging(log_format: str, level: str) -> None:
    """The app's loggers write to stdout, where Render and Railway collect logs."""
    handler = BackgroundStreamHandler(sys.stdout)
    # The filter runs in the caller's context, where the request id is.
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(
        JSONFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    )
    for previous in logger.handlers:
        previous.close()
    logger.handlers = [handler]
    logger.setLevel(level)
    logger.propagate = False
    # The app writes its own access line (with the request id): the server's would repeat it.
    logging.getLogger("uvicorn.access").disabled = True
