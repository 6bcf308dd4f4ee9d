"""One-statement writes, and the one way to say why such a write wrote nothing.

A write to a post or a comment is one statement that checks the caller's session and the
target as the caller may see it (app/services/visibility.py), writes, and returns what the
answer needs. When it returns nothing, or a foreign key refuses it (a concurrent deletion of
the target or of the caller's account), a second query says why: 401 when the caller's session
has ended, 404 when the target is not one the caller may see, else the entity's own refusal
(403 for someone else's post, 409 for a second vote, ...).
"""

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import UpdateBase, true
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.errors import NotFound, ServiceError, Unauthorized
from app.db.statements import REFUSED, run_alone
from app.services.sessions import SESSION_ALIVE
from app.services.visibility import Target


async def write_or_explain(
    session: AsyncSession,
    statement: UpdateBase,
    params: Mapping[str, Any],
    *,
    target: Target | None = None,
    refused: ServiceError | None = None,
) -> Sequence[Any]:
    """The row `statement` (a write with RETURNING) returned; when it wrote nothing: 401 if
    the caller's session has ended, 404 if the caller may not see `target` (its `exists`
    reads the statement's parameters), else `refused` (by default, the target's 404; 401
    for a write with no target: only the caller's session could stop it)."""
    try:
        row = await run_alone(session, statement, params)
    except REFUSED:
        await session.rollback()
        row = None
    if row is not None:
        return row
    why = select(SESSION_ALIVE, true() if target is None else target.exists)
    alive, visible = (await session.exec(why, params=params)).one()
    await session.rollback()
    if not alive:
        raise Unauthorized()
    if refused is not None and visible:
        raise refused
    raise NotFound(target.not_found) if target is not None else Unauthorized()
