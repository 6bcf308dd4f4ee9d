"""The read path of the hot endpoints: the feed and single posts, token check included.

Their SQL is built once with SQLAlchemy (in app/services/posts.py) and runs as a single
statement in autocommit, on a connection of the engine's one pool. On PostgreSQL the compiled
SQL goes straight to psycopg: the ORM session's machinery (BEGIN, ORM result processing,
ROLLBACK) costs about 0.5 ms of CPU per request, several times the query itself, and a single
SELECT needs none of it (it is atomic on its own). On SQLite it runs through SQLAlchemy Core.
Writes, and the reads that follow a write, keep the session.
"""

from collections.abc import Mapping, Sequence
from typing import Any

import psycopg
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import Select

from app.db.engine import engine

Row = Sequence[Any]
_PSYCOPG = postgresql.dialect(paramstyle="pyformat")  # type: ignore[no-untyped-call]  # untyped in SQLAlchemy

# The same pool as the sessions', its connections lent in autocommit: no BEGIN and no ROLLBACK
# round trips around the one statement.
_autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")


class Query:
    """A SELECT and its SQL for psycopg, compiled once (`%(name)s` parameters)."""

    def __init__(self, statement: Select[Any]) -> None:
        self.statement = statement
        self.sql = str(statement.compile(dialect=_PSYCOPG))


async def fetch(
    query: Query, params: Mapping[str, Any], *, prepare: bool | None = None
) -> Sequence[Row]:
    """The rows of `query`, as tuples in the order of its columns. `prepare=False` plans the
    statement for these very parameters every time (PostgreSQL; ignored elsewhere)."""
    async with _autocommit.connect() as connection:
        if connection.dialect.name != "postgresql":
            return (await connection.execute(query.statement, params)).all()
        driver = await _psycopg_connection(connection)
        try:
            return await _run(driver, query, params, prepare)
        except psycopg.OperationalError:
            if not driver.broken:
                raise
            # The server dropped it between the pool's ping and the query (a restart, a
            # failover). A read is idempotent: retry once, on a connection the pool checks.
            await connection.invalidate()
    async with _autocommit.connect() as connection:
        return await _run(await _psycopg_connection(connection), query, params, prepare)


async def _psycopg_connection(connection: AsyncConnection) -> psycopg.AsyncConnection[Any]:
    driver = (await connection.get_raw_connection()).driver_connection
    assert isinstance(driver, psycopg.AsyncConnection)
    return driver


async def _run(
    connection: psycopg.AsyncConnection[Any],
    query: Query,
    params: Mapping[str, Any],
    prepare: bool | None,
) -> list[Row]:
    cursor = await connection.execute(query.sql, params, prepare=prepare)
    return await cursor.fetchall()
