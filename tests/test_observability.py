"""Every response carries X-Request-ID; one access-log line per request; errors are logged
once, with their request id, and never shown to the client."""

import json
import logging
import re
from collections.abc import AsyncIterator, Iterator

import pytest
from httpx import ASGITransport, AsyncClient

from app.core.logging import RequestIdFilter, json_formatter
from app.main import create_app

GENERATED_ID = re.compile(r"[0-9a-f]{32}")


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []
        self.addFilter(RequestIdFilter())

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def logged() -> Iterator[list[logging.LogRecord]]:
    """What the app logs (access lines and errors), with request ids."""
    capture = _Capture()
    app_logger = logging.getLogger("app")
    app_logger.addHandler(capture)
    try:
        yield capture.records
    finally:
        app_logger.removeHandler(capture)


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/health", 200),
        ("GET", "/nowhere", 404),
        ("DELETE", "/posts", 405),
        ("GET", "/users/me", 401),
        ("GET", "/posts/0", 401),
        ("POST", "/users", 422),
    ],
)
async def test_every_response_carries_a_request_id(
    client: AsyncClient, method: str, path: str, status: int
) -> None:
    response = await client.request(method, path, json={} if method == "POST" else None)
    assert response.status_code == status
    assert GENERATED_ID.fullmatch(response.headers["X-Request-ID"])


async def test_a_refused_oversized_body_carries_a_request_id_too(client: AsyncClient) -> None:
    response = await client.post(
        "/posts", content=b"x" * (1024 * 1024 + 1), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert GENERATED_ID.fullmatch(response.headers["X-Request-ID"])


async def test_the_clients_own_request_id_is_kept_when_sane(client: AsyncClient) -> None:
    response = await client.get("/health", headers={"X-Request-ID": "trace-42.a:b_C"})
    assert response.headers["X-Request-ID"] == "trace-42.a:b_C"


@pytest.mark.parametrize(
    "given", ["has spaces", "x" * 129, "semi;colon", "new\\nline", "é-accent", ""]
)
async def test_an_insane_request_id_is_replaced(client: AsyncClient, given: str) -> None:
    response = await client.get("/health", headers={"X-Request-ID": given.encode("utf-8")})
    assert GENERATED_ID.fullmatch(response.headers["X-Request-ID"])


async def test_each_request_gets_its_own_id(client: AsyncClient) -> None:
    ids = {(await client.get("/health")).headers["X-Request-ID"] for _ in range(5)}
    assert len(ids) == 5


async def test_one_access_log_line_per_request(
    client: AsyncClient, logged: list[logging.LogRecord]
) -> None:
    response = await client.get("/posts?limit=3")
    access = [r for r in logged if r.name == "app.access"]
    assert len(access) == 1
    (line,) = access
    assert (line.method, line.path, line.status) == ("GET", "/posts", 401)  # type: ignore[attr-defined]
    assert line.duration_ms >= 0  # type: ignore[attr-defined]
    assert line.request_id == response.headers["X-Request-ID"]  # type: ignore[attr-defined]


async def test_access_lines_are_json_lines_in_production_format(
    client: AsyncClient, logged: list[logging.LogRecord]
) -> None:
    response = await client.get("/health", headers={"X-Request-ID": "json-check"})
    (record,) = [r for r in logged if r.name == "app.access"]
    entry = json.loads(json_formatter().format(record))
    assert entry["request_id"] == response.headers["X-Request-ID"] == "json-check"
    assert (entry["method"], entry["path"], entry["status"]) == ("GET", "/health", 200)
    assert isinstance(entry["duration_ms"], float)
    assert entry["level"] == "INFO" and entry["time"].endswith("+00:00")


@pytest.fixture
async def failing_client() -> AsyncIterator[AsyncClient]:
    """A fresh app with one route that fails unexpectedly."""
    app = create_app()

    @app.get("/explode")
    async def explode() -> None:
        raise RuntimeError("boom: internal detail")

    # raise_app_exceptions: an error escaping the app would fail the test.
    transport = ASGITransport(app=app, raise_app_exceptions=True)
    async with AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def test_an_unexpected_error_is_a_json_500_without_trace(
    failing_client: AsyncClient, logged: list[logging.LogRecord]
) -> None:
    response = await failing_client.get("/explode")
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal Server Error"}
    assert "boom" not in response.text and "Traceback" not in response.text
    request_id = response.headers["X-Request-ID"]

    traced = [r for r in logged if r.exc_info]
    assert len(traced) == 1, "the stack trace is logged exactly once"
    (error,) = traced
    assert error.request_id == request_id  # type: ignore[attr-defined]
    assert "boom: internal detail" in logging.Formatter().formatException(error.exc_info)  # type: ignore[arg-type]
    (access,) = [r for r in logged if r.name == "app.access"]
    assert access.status == 500 and access.request_id == request_id  # type: ignore[attr-defined]
