"""Slow and greedy clients against a real server, started with `python -m app.serve`'s options.

Raw sockets (asyncio streams) trickle request heads a byte at a time, stall bodies halfway,
or send heads far over normal size. /health must keep answering within a second meanwhile,
the slow ones must be cut off (408) once their deadline passes, and oversized heads must get
a 4xx, never a hang or a 500. Short deadlines (REQUEST_*_TIMEOUT) keep it to a few seconds.
"""

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.live_server import SERVE, free_port, running
from tests.raw_http import read_answer, send

PROJECT_ROOT = Path(__file__).resolve().parent.parent
HEAD_TIMEOUT = 2.5
BODY_TIMEOUT = 2.5
HEALTH = b"GET /health HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """The production server options (app.serve.server_options), one worker, on loopback."""
    workdir = tmp_path_factory.mktemp("slow-clients")
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{workdir}/app.db",  # its own; stalled bodies never reach it
        "ENVIRONMENT": "test",
        "SECRET_KEY": "test-secret-key-that-is-long-enough-for-hs256",
        "RATE_LIMIT_ENABLED": "false",
        "REQUEST_HEADER_TIMEOUT": str(HEAD_TIMEOUT),
        "REQUEST_BODY_TIMEOUT": str(BODY_TIMEOUT),
        "LOG_LEVEL": "WARNING",
        "WEB_CONCURRENCY": "1",
    }
    # Graceful shutdown is bounded (20 s) in server_options.
    with running(["-c", SERVE, str(port)], env, workdir / "server.log", port=port, stop_timeout=30):
        yield port


async def _health_within_a_second(port: int) -> None:
    started = time.perf_counter()
    answer = await send(port, HEALTH, seconds=5)
    elapsed = time.perf_counter() - started
    assert answer.status == 200
    assert elapsed < 1, f"/health took {elapsed:.2f} s"


@dataclass
class SlowClient:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    trickle: bytes  # what it sends, a byte at a time, until cut off


@pytest.fixture
async def open_clients() -> AsyncIterator[list[SlowClient]]:
    clients: list[SlowClient] = []
    yield clients
    for client in clients:
        client.writer.close()
    await asyncio.gather(*(c.writer.wait_closed() for c in clients), return_exceptions=True)


async def _connect(port: int, first: bytes, trickle: bytes) -> SlowClient:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(first)
    await writer.drain()
    return SlowClient(reader, writer, trickle)


async def _trickle(clients: list[SlowClient], rounds: int, pause: float) -> None:
    for step in range(rounds):
        for client in clients:
            if not client.writer.is_closing() and step < len(client.trickle):
                client.writer.write(client.trickle[step : step + 1])
        await asyncio.sleep(pause)


async def test_slowloris_and_stalled_bodies_do_not_delay_health_and_are_cut_off(
    server: int, open_clients: list[SlowClient]
) -> None:
    header = b"GET /health HTTP/1.1\r\nHost: test\r\nX-Slow: "
    body_head = (
        b"POST /posts HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer x\r\n"
        b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"
    )
    slow_heads = [_connect(server, header, b"a" * 100) for _ in range(300)]
    stalled_bodies = [_connect(server, body_head, b"") for _ in range(100)]
    silent = [_connect(server, b"", b"") for _ in range(20)]
    open_clients.extend(await asyncio.gather(*slow_heads, *stalled_bodies, *silent))

    # While all 420 are open (and the heads keep trickling), /health answers at once.
    started = time.monotonic()
    trickling = asyncio.create_task(_trickle(open_clients[:300], rounds=100, pause=0.2))
    try:
        for _ in range(5):
            await _health_within_a_second(server)
            await asyncio.sleep(0.1)
        assert time.monotonic() - started < HEAD_TIMEOUT, "probes ran past the deadline"

        # Past the deadlines: trickled heads and stalled bodies get a 408, silent ones a close.
        answers = await asyncio.gather(
            *(read_answer(c.reader, seconds=HEAD_TIMEOUT + 5) for c in open_clients)
        )
    finally:
        trickling.cancel()
    assert time.monotonic() - started < HEAD_TIMEOUT + 5
    heads, bodies, idle = answers[:300], answers[300:400], answers[400:]
    assert {a.status for a in heads} == {408}
    assert {a.status for a in bodies} == {408}
    assert {a.status for a in idle} == {None}
    assert json.loads(heads[0].body) == {"detail": "Request Timeout"}
    # The body timeout is answered by the app: JSON, with a request id.
    assert "detail" in json.loads(bodies[0].body)
    assert bodies[0].headers["x-request-id"]
    await _health_within_a_second(server)


def _get(path: bytes, headers: bytes = b"") -> bytes:
    return b"GET " + path + b" HTTP/1.1\r\nHost: test\r\n" + headers + b"Connection: close\r\n\r\n"


def _headers(count: int, size: int) -> bytes:
    return b"".join(b"X-H%d: %s\r\n" % (i, b"v" * size) for i in range(count))


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        pytest.param(_get(b"/health?q=" + b"a" * 7000), 200, id="7 KiB URL"),
        pytest.param(_get(b"/health?q=" + b"a" * 16384), 414, id="16 KiB URL"),
        pytest.param(_get(b"/health?q=" + b"a" * 65536), 414, id="64 KiB URL"),
        pytest.param(_get(b"/health?q=" + b"a" * (1 << 20)), 414, id="1 MiB URL"),
        pytest.param(_get(b"/health", _headers(1, 15000)), 200, id="15 KB header"),
        pytest.param(_get(b"/health", _headers(1, 32768)), 431, id="32 KiB header"),
        pytest.param(_get(b"/health", _headers(64, 16384)), 431, id="1 MiB of headers"),
        # About 120 KB: refused by the server or by the app, as it arrives in one read or more.
        pytest.param(_get(b"/health", _headers(10_000, 1)), 431, id="10,000 headers"),
    ],
)
async def test_oversized_heads_get_a_4xx_in_json(
    server: int, request_bytes: bytes, status: int
) -> None:
    answer = await send(server, request_bytes)
    assert answer.status == status
    assert answer.headers["content-type"] == "application/json"
    if status != 200:
        assert json.loads(answer.body)["detail"]
        assert answer.headers["connection"] == "close"
    # Refused by app/web/request_limits.py or, past 64 KiB, by the server protocol itself:
    # either way with a request id.
    assert answer.headers["x-request-id"]
    await _health_within_a_second(server)
