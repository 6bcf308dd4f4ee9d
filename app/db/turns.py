"""Turns at the connection pool: requests wait here, first come first served, before they ask
the pool for a connection.

SQLAlchemy's asyncio pool hands a returned connection to whichever request asks next (not the
one that waited longest) and starts a timer task per waiting request. With more concurrent
requests than connections, that cost 7 to 24% of the feed's throughput and doubled its p99
(docs/performance.md, "The read path"). The hot paths (the read path, app/db/reads.py, and the
one-statement writes, app/db/statements.py) take a turn here first, so that the pool only ever
sees as many of them as it has connections, and reads and writes wait in one queue.
"""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from app.core.config import settings

_turns: asyncio.Semaphore | None = None  # made in the event loop that uses it


@asynccontextmanager
async def pool_turn() -> AsyncIterator[None]:
    """Wait (up to DB_POOL_TIMEOUT, then the pool's own timeout error: 503) for one of the
    pool's DB_POOL_SIZE turns, and hold it for the block."""
    global _turns
    turns = _turns = _turns or asyncio.Semaphore(settings.DB_POOL_SIZE)
    if turns.locked():
        try:
            async with asyncio.timeout(settings.DB_POOL_TIMEOUT):
                await turns.acquire()
        except TimeoutError:
            raise PoolTimeoutError(
                f"no connection free in {settings.DB_POOL_TIMEOUT:g} s"
            ) from None
    else:
        await turns.acquire()  # free: no timer
    try:
        yield
    finally:
        turns.release()
