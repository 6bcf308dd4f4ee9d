"""Writes that are one statement, each its own transaction.

On PostgreSQL the statement goes straight to psycopg, as the read path's SELECTs do
(app/db/reads.py): on a connection of the pool as it lends them (in autocommit), compiled once,
with no session, no BEGIN and COMMIT round trips and no ORM result processing. A single
statement is atomic on its own. SQLite runs it in the request's session, in its transaction
(BEGIN IMMEDIATE, app/db/engine.py).
"""

from collections.abc import Mapping, Sequence
from typing import Any

import psycopg
from sqlalchemy import UpdateBase
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session as SQLModelSession
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.engine import engine
from app.db.reads import Compiled, fetch_once
from app.db.turns import pool_turn

_ON_POSTGRESQL = engine.dialect.name == "postgresql"
# What `run_alone` raises when a constraint refuses the write (a foreign key whose row went
# meanwhile, a second vote): psycopg's on PostgreSQL, SQLAlchemy's on SQLite.
REFUSED = (psycopg.IntegrityError, IntegrityError)
# Compiled on first use, per statement: the services declare theirs once, at import.
_compiled: dict[int, Compiled] = {}


def _compiled_once(statement: UpdateBase) -> Compiled:
    found = _compiled.get(id(statement))
    if found is None or found.statement is not statement:
        found = _compiled[id(statement)] = Compiled(statement)
    return found


async def run_alone(
    session: AsyncSession, statement: UpdateBase, params: Mapping[str, Any]
) -> Sequence[Any] | None:
    """Run `statement` (a write with RETURNING) as its own transaction: the row it returned
    (its columns in the order of RETURNING), None when it wrote nothing; one of `REFUSED`
    when a constraint refuses it."""
    if _ON_POSTGRESQL:
        return await run_alone_on_postgresql(statement, params)

    def write(sync_session: OrmSession) -> Sequence[Any] | None:
        assert isinstance(sync_session, SQLModelSession)  # for `exec`; `execute` is deprecated
        row: Sequence[Any] | None = sync_session.exec(statement, params=params).first()
        sync_session.commit()
        return row

    # Statement and commit in one pass of SQLAlchemy's async bridge rather than one each.
    async with pool_turn():
        return await session.run_sync(write)


async def run_alone_on_postgresql(
    statement: UpdateBase, params: Mapping[str, Any]
) -> Sequence[Any] | None:
    """`run_alone` on PostgreSQL, where it needs no session (a login's, which has none)."""
    assert _ON_POSTGRESQL
    # Never tried again on a dropped connection: the write may have committed (503).
    rows = await fetch_once(_compiled_once(statement), params)
    return rows[0] if rows else None
