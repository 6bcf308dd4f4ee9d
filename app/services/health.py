"""Readiness: the database answers, and its schema is the one this code needs."""

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.migrations import schema_problem


async def database_problem(session: AsyncSession) -> str | None:
    """Why the database cannot serve this code, or None when it can. An unreachable database
    raises (the error handlers answer 503)."""
    connection = await session.connection()
    await connection.execute(text("SELECT 1"))
    return await schema_problem(connection)
