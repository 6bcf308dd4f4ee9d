"""The read path of the hot endpoints: the feed and single posts, token check included.

Their SQL is built once with SQLAlchemy (in the services) and, on PostgreSQL, runs straight
on psycopg, on the read pool's autocommit connections (app/read_pool.py). The ORM session costs
about 0.5 ms of Python per request (a pool checkout that pings, BEGIN, result processing,
ROLLBACK; see bench/README.md), several times the query itself, and a single SELECT needs none
of it: it is atomic on its own. Writes, and the reads that follow a write, keep the session.

On SQLite (the development default) reads go through SQLAlchemy on the app's engine; the tests
read through their own session (`SessionReader`), inside their rolled-back transaction.
"""

from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Protocol

import psycopg
from fastapi import Depends
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import Executable
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import settings
from app.db import engine, postgresql_connect_args
from app.read_pool import ReadPool

Row = Sequence[Any]
_PSYCOPG = postgresql.dialect(paramstyle="pyformat")


class Query:
    """A SQLAlchemy statement and its SQL for psycopg, compiled once (`%(name)s` parameters)."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self.sql = str(statement.compile(dialect=_PSYCOPG))


class Reader(Protocol):
    async def fetch(
        self, query: Query, params: Mapping[str, Any], *, prepare: bool | None = None
    ) -> Sequence[Row]:
        """The rows of `query`, as tuples in the order of its columns. `prepare=False` plans
        the statement for these very parameters every time (PostgreSQL; ignored elsewhere)."""
        ...


async def _run(
    connection: psycopg.AsyncConnection[Any],
    query: Query,
    params: Mapping[str, Any],
    prepare: bool | None,
) -> list[Row]:
    cursor = await connection.execute(query.sql, params, prepare=prepare)
    return await cursor.fetchall()


class PoolReader:
    """Reads on the read pool's autocommit connections (PostgreSQL)."""

    def __init__(self, url: str) -> None:
        self._pool = ReadPool(
            make_url(url).set(drivername="postgresql").render_as_string(hide_password=False),
            size=settings.DB_POOL_SIZE,
            timeout=settings.DB_POOL_TIMEOUT,
            **postgresql_connect_args(),
        )

    async def close(self) -> None:
        await self._pool.discard_idle()

    async def fetch(
        self, query: Query, params: Mapping[str, Any], *, prepare: bool | None = None
    ) -> Sequence[Row]:
        async with self._pool.connection() as connection:
            try:
                return await _run(connection, query, params, prepare)
            except psycopg.OperationalError:
                if not connection.broken:
                    raise
        # The server dropped the connection (a restart, a failover), and most likely the idle
        # ones too. Reads are idempotent: retry once, on a new connection.
        await self._pool.discard_idle()
        async with self._pool.connection() as connection:
            return await _run(connection, query, params, prepare)


async def _fetch_with_sqlalchemy(
    connection: AsyncConnection, query: Query, params: Mapping[str, Any], prepare: bool | None
) -> Sequence[Row]:
    if connection.dialect.name != "postgresql":
        return (await connection.execute(query.statement, params)).all()
    # The same SQL and driver calls as the pool's, on this connection.
    raw = await connection.get_raw_connection()
    return await _run(raw.driver_connection, query, params, prepare)


class EngineReader:
    """Reads on the app's engine, a connection each (SQLite, the development default)."""

    async def fetch(
        self, query: Query, params: Mapping[str, Any], *, prepare: bool | None = None
    ) -> Sequence[Row]:
        async with engine.connect() as connection:
            return await _fetch_with_sqlalchemy(connection, query, params, prepare)


class SessionReader:
    """Reads through a session, on its connection and inside its transaction: after a write,
    and in tests (whose transaction is rolled back at the end)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def fetch(
        self, query: Query, params: Mapping[str, Any], *, prepare: bool | None = None
    ) -> Sequence[Row]:
        connection = await self._session.connection()
        return await _fetch_with_sqlalchemy(connection, query, params, prepare)


_on_postgresql = make_url(settings.DATABASE_URL).get_backend_name() == "postgresql"
pool_reader = PoolReader(settings.DATABASE_URL) if _on_postgresql else None
_reader: Reader = pool_reader or EngineReader()


async def get_reader() -> Reader:
    # No session and no `yield`: a generator dependency costs ~0.15 ms a request in FastAPI
    # (and a plain `def` would run in a thread).
    return _reader


ReaderDep = Annotated[Reader, Depends(get_reader)]
