"""A small pool of autocommit psycopg connections for the read path (app/reads.py).

Connections are made when a request needs one and none is idle, never in the background: with
the database down a read fails at once (503) instead of waiting out a reconnection backoff,
and it succeeds again as soon as the database is back. At most `size` connections exist; a
request waits at most `timeout` seconds for one (then `ReadPoolTimeout`, a 503).
"""

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus

# Older connections are closed when returned: server-side caches and memory do not grow forever.
MAX_AGE_SECONDS = 30 * 60


class ReadPoolTimeout(psycopg.OperationalError):
    """No connection became free in time: the database is slow, or the pool too small."""


class ReadPool:
    def __init__(self, conninfo: str, *, size: int, timeout: float, **kwargs: Any) -> None:
        self._conninfo = conninfo
        self._kwargs = {**kwargs, "autocommit": True}
        self._size = size
        self._timeout = timeout
        self._idle: list[tuple[psycopg.AsyncConnection[Any], float]] = []
        self._slots: asyncio.Semaphore | None = None  # made in the event loop that uses it

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        slots = self._slots = self._slots or asyncio.Semaphore(self._size)
        await self._take(slots)
        try:
            if self._idle:
                connection, born = self._idle.pop()
            else:
                connection, born = await self._connect(), time.monotonic()
            try:
                yield connection
            finally:
                await self._give_back(connection, born)
        finally:
            slots.release()

    async def _take(self, slots: asyncio.Semaphore) -> None:
        if not slots.locked():
            await slots.acquire()  # free: no wait, so no timer either
            return
        try:
            async with asyncio.timeout(self._timeout):
                await slots.acquire()
        except TimeoutError:
            raise ReadPoolTimeout(f"no read connection free in {self._timeout:g} s") from None

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        return await psycopg.AsyncConnection.connect(self._conninfo, **self._kwargs)

    async def _give_back(self, connection: psycopg.AsyncConnection[Any], born: float) -> None:
        reusable = (
            not connection.closed
            and connection.info.transaction_status == TransactionStatus.IDLE
            and time.monotonic() - born < MAX_AGE_SECONDS
        )
        if reusable:
            self._idle.append((connection, born))
        else:
            await _close(connection)

    async def discard_idle(self) -> None:
        """Close the idle connections: after one was found dead (a restart, a failover), the
        others most likely are too."""
        idle, self._idle = self._idle, []
        for connection, _ in idle:
            await _close(connection)


async def _close(connection: psycopg.AsyncConnection[Any]) -> None:
    with suppress(psycopg.Error, OSError):
        await connection.close()
