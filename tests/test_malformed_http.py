"""What the production server (`python -m app.serve`'s options) answers by itself, before any
request reaches the app: malformed HTTP, heads over 64 KiB, connections over the concurrency
limit. Like every other answer (API.md), JSON `{"detail": ...}` with a request id, `nosniff`,
and no `Server` header. Raw sockets: no HTTP client sends these.
"""

import asyncio
import json
import os
from collections.abc import Iterator

import pytest

from tests.live_server import SERVE, free_port, running
from tests.raw_http import Answer, send

CONCURRENCY = 4  # LIMIT_CONCURRENCY of the server under test


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    workdir = tmp_path_factory.mktemp("malformed-http")
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{workdir}/app.db",  # nothing here reaches the database
        "ENVIRONMENT": "test",
        "SECRET_KEY": "test-secret-key-that-is-long-enough-for-hs256",
        "RATE_LIMIT_ENABLED": "false",
        "LIMIT_CONCURRENCY": str(CONCURRENCY),
        "LOG_LEVEL": "WARNING",
        "WEB_CONCURRENCY": "1",
    }
    with running(["-c", SERVE, str(port)], env, workdir / "server.log", port=port):
        yield port


def assert_json_answer(answer: Answer, status: int) -> str:
    assert answer.status == status, answer
    assert answer.headers["content-type"] == "application/json"
    assert len(answer.headers["x-request-id"]) >= 16
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert "server" not in answer.headers
    body = json.loads(answer.body)
    assert set(body) == {"detail"} and isinstance(body["detail"], str)
    return str(body["detail"])


MALFORMED = {
    "nul-in-a-header": b"GET /health HTTP/1.1\r\nHost: t\r\nX-A: a\x00b\r\n\r\n",
    "bad-content-length": b"POST /posts HTTP/1.1\r\nHost: t\r\nContent-Length: abc\r\n\r\n",
    "doubled-content-length": (
        b"POST /posts HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"
    ),
    "content-length-and-chunked": (
        b"POST /posts HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    ),
    "unknown-method": b"FOO / HTTP/1.1\r\nHost: t\r\n\r\n",
    "not-http": b"hello\r\n\r\n",
}


@pytest.mark.parametrize("request_bytes", MALFORMED.values(), ids=MALFORMED.keys())
async def test_malformed_http_is_a_json_400_with_a_request_id(
    server: int, request_bytes: bytes
) -> None:
    assert_json_answer(await send(server, request_bytes), 400)


async def test_a_head_over_64_kib_is_json_with_a_request_id(server: int) -> None:
    head = b"GET /health HTTP/1.1\r\nHost: t\r\n" + b"X-Big: " + b"a" * 70_000 + b"\r\n\r\n"
    assert_json_answer(await send(server, head), 431)


async def test_ordinary_answers_carry_the_headers_too(server: int) -> None:
    answer = await send(server, b"GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    assert answer.status == 200
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["x-request-id"] and "server" not in answer.headers


async def test_a_redirect_never_names_the_host_the_client_sent(server: int) -> None:
    request = b"GET /users/me/ HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n"
    answer = await send(server, request)
    assert answer.status == 307 and answer.headers["location"] == "/users/me"


async def test_past_the_concurrency_limit_the_503_is_json_with_a_request_id(server: int) -> None:
    idle = [await asyncio.open_connection("127.0.0.1", server) for _ in range(CONCURRENCY)]
    try:
        await asyncio.sleep(0.2)  # the server has accepted them all
        answer = await send(server, b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
        assert_json_answer(answer, 503)
    finally:
        for _, writer in idle:
            writer.close()
        await asyncio.gather(*(writer.wait_closed() for _, writer in idle))
