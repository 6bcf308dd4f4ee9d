"""The floor under a database read: FastAPI plus one PostgreSQL round trip, and nothing else.

`GET /floor/{post_id}` runs one small prepared query (a post's id, title and vote count) on a
pool of autocommit psycopg connections and returns it as JSON: no middleware, no token, no
validation beyond the path's int, no ORM. Served and loaded like the app (one uvicorn worker,
the same wrk settings), it shows what any endpoint that asks the database once costs on this
machine at the least, next to the bare ceiling (bench/bare.py).

The database comes from FLOOR_DATABASE_URL (a `postgresql://` URL), set by bench/run.py.
"""

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from fastapi import FastAPI

POOL_SIZE = 5  # as the app's read pool (DB_POOL_SIZE)
QUERY = """
    SELECT id, title, (SELECT count(*) FROM votes WHERE votes.post_id = posts.id)
    FROM posts WHERE id = %(post_id)s
"""
_idle: asyncio.Queue[psycopg.AsyncConnection[Any]] = asyncio.Queue()


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    url = os.environ["FLOOR_DATABASE_URL"]
    for _ in range(POOL_SIZE):
        _idle.put_nowait(await psycopg.AsyncConnection.connect(url, autocommit=True))
    yield
    while not _idle.empty():
        await _idle.get_nowait().close()


app = FastAPI(lifespan=lifespan)


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/floor/{post_id}")
async def floor(post_id: int) -> dict[str, Any]:
    connection = await _idle.get()
    try:
        cursor = await connection.execute(QUERY, {"post_id": post_id})
        row = await cursor.fetchone()
    finally:
        _idle.put_nowait(connection)
    assert row is not None
    return {"id": row[0], "title": row[1], "votes": row[2]}
