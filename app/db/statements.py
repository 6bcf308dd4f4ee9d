"""Writes that are one statement: run through the request's session, as their own transaction."""

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Row, UpdateBase
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.engine import engine

# On PostgreSQL, on a connection of the pool as it lends them (in autocommit): no BEGIN and
# COMMIT round trips, and no switching of the connection's isolation level and back.
_ALONE = {"bind": engine.sync_engine} if engine.dialect.name == "postgresql" else None


async def run_alone(
    session: AsyncSession, statement: UpdateBase, params: Mapping[str, Any]
) -> Row[Any] | None:
    """Run `statement` (a write with RETURNING) and commit it: the row it returned, None when
    it wrote nothing. A single statement is atomic on its own: on PostgreSQL it runs in
    autocommit, one round trip instead of three (BEGIN, the statement, COMMIT). SQLite keeps
    its transaction (the session's BEGIN IMMEDIATE, app/db/engine.py)."""
    result = await session.exec(statement, params=params, bind_arguments=_ALONE)
    row = result.first()  # RETURNING: psycopg's async rowcount does not last
    await session.commit()
    return row
