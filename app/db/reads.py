"""The read path of the hot endpoints: the feed and single posts, token check included.

Their SQL is built once with SQLAlchemy (in app/services/posts.py) and runs as a single
statement on a connection of the engine's one pool, outside the ORM session. On PostgreSQL the
compiled SQL goes straight to psycopg, on the connection as the pool lends it (in autocommit):
the session's machinery (BEGIN, ORM result processing, ROLLBACK) and even SQLAlchemy's
Connection around the statement cost more than the query itself (README, "The read path"), and
a single SELECT needs none of it (it is atomic on its own). On SQLite it runs through
SQLAlchemy Core. Writes, and the reads that follow a write, keep the session.
"""

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql import Select

from app.db.engine import engine
from app.db.turns import pool_turn

Row = Sequence[Any]
_PSYCOPG = postgresql.dialect(paramstyle="pyformat")  # type: ignore[no-untyped-call]  # untyped in SQLAlchemy
_ON_POSTGRESQL = engine.dialect.name == "postgresql"


class Query:
    """A SELECT and its SQL for psycopg, compiled once (`%(name)s` parameters)."""

    def __init__(self, statement: Select[Any]) -> None:
        self.statement = statement
        self.sql = str(statement.compile(dialect=_PSYCOPG))


class _Dropped(Exception):
    """The server dropped the connection under the statement (a restart, a failover)."""


async def fetch(
    query: Query, params: Mapping[str, Any], *, prepare: bool | None = None
) -> Sequence[Row]:
    """The rows of `query`, as tuples in the order of its columns. `prepare=False` plans the
    statement for these very parameters every time (PostgreSQL; ignored elsewhere)."""
    if not _ON_POSTGRESQL:
        async with engine.connect() as connection:
            rows: Sequence[Row] = (await connection.execute(query.statement, params)).all()
            return rows
    try:
        return await _fetch_on_psycopg(query, params, prepare)
    except _Dropped:
        pass
    # A read is idempotent: once more, on a connection the pool checks at checkout. A second
    # drop is an outage (503).
    try:
        return await _fetch_on_psycopg(query, params, prepare)
    except _Dropped as dropped:
        assert isinstance(dropped.__cause__, psycopg.OperationalError)
        raise dropped.__cause__ from None


async def _fetch_on_psycopg(
    query: Query, params: Mapping[str, Any], prepare: bool | None
) -> list[Row]:
    async with _pooled_psycopg_connection() as connection:
        try:
            cursor = await connection.execute(query.sql, params, prepare=prepare)
            return await cursor.fetchall()
        except psycopg.OperationalError as error:
            if connection.broken:
                raise _Dropped from error
            raise


@asynccontextmanager
async def _pooled_psycopg_connection() -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    async with pool_turn():
        pooled = await engine.raw_connection()
        connection = pooled.driver_connection
        assert isinstance(connection, psycopg.AsyncConnection)
        try:
            yield connection
        finally:
            if connection.info.transaction_status != TransactionStatus.IDLE:
                # Broken, or cancelled mid-statement: never lent again. Closed here, it is
                # replaced at its next checkout (app/db/engine.py, `_discard_if_ended`).
                await connection.close()
            pooled.close()  # back to the pool
