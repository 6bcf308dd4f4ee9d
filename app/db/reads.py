"""The read path: SELECTs built once with SQLAlchemy, run as a single statement each on a
connection of the engine's one pool, outside the ORM session.

`Query(Model, rows, gate=...)` is what a service declares: its rows become `Model`s by column
name (app/db/rows.py), behind a gate, a SELECT of one row or none (the caller's session, the
post whose comments these are): the same statement says whether the caller may see the rows at
all. `behind_gate` raises the caller's error when the gate finds nothing, and answers the rows
(maybe none) otherwise.

On PostgreSQL the compiled SQL goes straight to psycopg, on the connection as the pool lends
it (in autocommit): the session's machinery (BEGIN, ORM result processing, ROLLBACK) and even
SQLAlchemy's Connection around the statement cost more than the query itself
(docs/performance.md, "The read path"), and a single SELECT needs none of it (it is atomic on
its own). On SQLite it runs through SQLAlchemy Core. The one-statement writes take the same
path on PostgreSQL (`run_alone`, app/db/statements.py); transactions of several statements, and
the reads that follow a write, keep the session.
"""

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, Generic

import psycopg
from psycopg.pq import TransactionStatus
from sqlalchemy import Integer, UpdateBase, literal_column, true
from sqlalchemy import select as sql_select
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql import Select
from sqlalchemy.sql.base import ColumnCollection

from app.core.errors import ServiceError
from app.db.engine import engine
from app.db.rows import M, Shape
from app.db.turns import pool_turn

Row = Sequence[Any]
_PSYCOPG = postgresql.dialect(paramstyle="pyformat")  # type: ignore[no-untyped-call]  # untyped in SQLAlchemy
_ON_POSTGRESQL = engine.dialect.name == "postgresql"


class Compiled:
    """A statement and its SQL for psycopg, compiled once (`%(name)s` parameters), with the
    values it holds itself (a literal `5` in `.where(x == 5)`, say)."""

    def __init__(self, statement: Select[Any] | UpdateBase) -> None:
        self.statement = statement
        compiled = statement.compile(dialect=_PSYCOPG)
        self.sql = str(compiled)
        self.values = {
            name: bind.value for name, bind in compiled.binds.items() if not bind.required
        }

    def parameters(self, params: Mapping[str, Any]) -> Mapping[str, Any]:
        return {**self.values, **params} if self.values else params


_GATE, _FOUND = "gate_", "found_"  # the gate's column, and one that says a row was found


def _ordered(columns: ColumnCollection[str, Any], names: Sequence[str]) -> list[Any]:
    """ORDER BY `names`, columns of the model ("-created_at": descending)."""
    return [columns[name[1:]].desc() if name[0] == "-" else columns[name] for name in names]


class Query(Generic[M]):
    """A SELECT of `model`s behind a `gate` (a SELECT of one row or none), in the order of the
    model's columns `order_by` ("-name": descending)."""

    def __init__(
        self, model: type[M], rows: Select[Any], *, gate: Select[Any], order_by: Sequence[str] = ()
    ) -> None:
        opened = gate.subquery("gate")
        page = (
            rows.order_by(*_ordered(rows.selected_columns, order_by))
            .add_columns(literal_column("1", Integer).label(_FOUND))
            .subquery("page")
        )
        statement = (
            sql_select(opened.c[0].label(_GATE), *page.c)
            .select_from(opened.outerjoin(page, true()))
            .order_by(*_ordered(page.c, order_by))
        )
        self.compiled = Compiled(statement)
        self.shape = Shape(model, statement, ignore=(_GATE, _FOUND))
        self._found_at = list(statement.selected_columns.keys()).index(_FOUND)

    async def behind_gate(
        self, params: Mapping[str, Any], *, closed: ServiceError, prepare: bool | None = None
    ) -> list[M]:
        """The rows (none, when there are none); `closed` is raised when the gate finds no row
        (the caller's session has ended: 401; the post is not one they see: 404, ...)."""
        rows = await fetch(self.compiled, params, prepare=prepare)
        if not rows:
            raise closed
        return [self.shape(row) for row in rows if row[self._found_at] is not None]


class _Dropped(Exception):
    """The server dropped the connection under the statement (a restart, a failover)."""


async def fetch(
    query: Compiled, params: Mapping[str, Any], *, prepare: bool | None = None
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
    return await fetch_once(query, params, prepare=prepare)


async def fetch_once(
    query: Compiled, params: Mapping[str, Any], *, prepare: bool | None = None
) -> list[Row]:
    """`fetch` on PostgreSQL, not tried again when the server drops the connection: for a
    write, which may have committed (app/db/statements.py)."""
    try:
        return await _fetch_on_psycopg(query, params, prepare)
    except _Dropped as dropped:
        assert isinstance(dropped.__cause__, psycopg.OperationalError)
        raise dropped.__cause__ from None


async def _fetch_on_psycopg(
    query: Compiled, params: Mapping[str, Any], prepare: bool | None
) -> list[Row]:
    async with _pooled_psycopg_connection() as connection:
        try:
            cursor = await connection.execute(query.sql, query.parameters(params), prepare=prepare)
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
