"""The login rows' load: `POST /login` on 16 connections, each sending its next login as soon
as the last one is answered (as wrk does), with every login timed, so that the rate can be
measured in steady state.

Why not wrk: a login is slow (about 0.24 s of CPU), and wrk's rate (completed requests over
the duration) depends on how the server finishes them. The reference (bench/reference.py)
hashes its 16 logins at once on 16 threads: they all finish together, about every 2 s, and
whatever it has half done when the run stops is lost to the count (half a batch on average: 3%
of a 30 s run, 7% of a 15 s one). The app finishes one login at a time and loses next to
nothing. Here the rate is, for each connection, the logins answered after a warm-up over the
time from the start of the first of them to the end of the last (back to back: whole logins
only, whichever way the server schedules them), summed over the connections.

HTTP/1.1 by hand on asyncio streams, not httpx: httpx took about 3 ms of CPU per login, on the
same two cores as the server under test (1.3% of a login's CPU, as much as half the app's own
event loop); this takes a tenth of it. The servers measured here answer with Content-Length.
"""

import asyncio
import re
import statistics
import time
from urllib.parse import urlencode, urlsplit

from bench import seed
from bench.cpu import CpuWatch
from bench.wrk import WrkResult

TIMEOUT = 10.0  # seconds, as wrk's: a slower login is an error (a timeout)
_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length: *(\d+)", re.IGNORECASE)
WARMUP = 3.0  # seconds of unmeasured load first: more than one batch of the reference


def _percentile(values: list[float], percent: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * percent / 100))]


async def _login(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str, path: str, form: bytes
) -> int:
    """One login (`POST path`) on a kept-alive connection: the answer's status."""
    writer.write(
        b"POST %s HTTP/1.1\r\nHost: %s\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n%s"
        % (path.encode(), host.encode(), len(form), form)
    )
    head = await reader.readuntil(b"\r\n\r\n")
    length = _CONTENT_LENGTH.search(head)
    if length is None:  # the servers measured here always send one
        raise ConnectionError("an answer without Content-Length")
    await reader.readexactly(int(length.group(1)))
    return int(head[9:12])  # "HTTP/1.1 200 OK"


async def _drive(
    url: str,
    path: str,
    connections: int,
    warmup: float,
    duration: float,
    users: int,
    watch: CpuWatch | None,
) -> tuple[list[list[tuple[float, float, int]]], float]:
    """Each connection's logins as (start, end, status), status 0 for no answer in time, and
    when the measured part began."""
    address = urlsplit(url)
    host, port = address.hostname or "127.0.0.1", address.port or 80
    answered: list[list[tuple[float, float, int]]] = [[] for _ in range(connections)]
    stop = time.monotonic() + warmup + duration

    async def connection(number: int) -> None:
        user = number * 7  # the connections spread over the users
        streams = None
        try:
            while time.monotonic() < stop:
                user += 1
                login = {"username": f"user{user % users + 1}@{seed.EMAIL_DOMAIN}"}
                form = urlencode({**login, "password": seed.PASSWORD}).encode()
                started = time.monotonic()
                try:
                    streams = streams or await asyncio.open_connection(host, port)
                    status = await asyncio.wait_for(_login(*streams, host, path, form), TIMEOUT)
                except (OSError, asyncio.IncompleteReadError, TimeoutError):
                    status = 0
                    if streams:  # a new connection for the next one
                        streams[1].close()
                        streams = None
                answered[number].append((started, time.monotonic(), status))
        finally:  # also when cancelled at the end, mid-login
            if streams:
                streams[1].close()

    tasks = [asyncio.create_task(connection(n)) for n in range(connections)]
    await asyncio.sleep(warmup)
    measured_from = time.monotonic()
    if watch:
        watch.__enter__()
    await asyncio.sleep(duration)
    if watch:
        watch.__exit__()
    for task in tasks:  # the logins still in flight are not counted
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return answered, measured_from


def run(
    url: str,
    scenario: str,
    connections: int,
    duration: float,
    users: int = 16,
    warmup: float = WARMUP,
    watch: CpuWatch | None = None,
    path: str = "/login",
) -> WrkResult:
    """`duration` seconds of logins (`POST path`) after `warmup` unmeasured ones (`watch`, if
    any, watches the measured part); a WrkResult whose `rps` is the steady rate."""
    answered, measured_from = asyncio.run(
        _drive(url, path, connections, warmup, duration, users, watch)
    )
    rate, latencies, errors, timeouts = 0.0, [], 0, 0
    for logins in answered:
        measured = [
            (started, end, status) for started, end, status in logins if end >= measured_from
        ]
        if measured:  # back to back: from the first one's start to the last one's end
            rate += len(measured) / (measured[-1][1] - measured[0][0])
        for started, end, status in measured:
            latencies.append(1000 * (end - started))
            errors += status != 200
            timeouts += status == 0
    return WrkResult(
        scenario=scenario,
        connections=connections,
        duration_s=duration,
        requests=len(latencies),
        rps=rate,
        p50_ms=_percentile(latencies, 50),
        p99_ms=_percentile(latencies, 99),
        mean_ms=statistics.fmean(latencies) if latencies else float("nan"),
        non_2xx=errors - timeouts,
        socket_errors=timeouts,
        timeouts=timeouts,
    )
