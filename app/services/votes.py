"""Votes: one per user and post, guarded by the primary key.

Adding or taking back a vote is one statement that checks the caller's session and the post
and writes (`write_or_explain`: 401, 404 or 409 when it writes nothing).
"""

from sqlalchemy import ColumnElement, Insert, and_, bindparam, exists
from sqlalchemy import select as sql_select
from sqlmodel import delete, insert
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.errors import Conflict, NotFound
from app.core.security import TokenClaims
from app.db.statements import run_alone
from app.models import Vote, table_of, utcnow
from app.services.sessions import SESSION_ALIVE, token_params
from app.services.visibility import POST_ID, THE_POST, VIEWER
from app.services.writes import write_or_explain

# The table, not the ORM class: these statements need none of the ORM's machinery.
_VOTES = table_of(Vote)
_CALLERS_VOTE = and_(_VOTES.c.post_id == POST_ID, _VOTES.c.user_id == VIEWER)
_MAY_VOTE = and_(SESSION_ALIVE, THE_POST.exists)

_now = bindparam("now", type_=_VOTES.c.created_at.type)


def _adding(may_vote: ColumnElement[bool]) -> Insert:
    # Of two concurrent requests that both find no vote yet, the primary key refuses the second.
    return (
        insert(_VOTES)
        .from_select(
            ["post_id", "user_id", "created_at"],
            sql_select(POST_ID, VIEWER, _now).where(may_vote, ~exists().where(_CALLERS_VOTE)),
        )
        .returning(_VOTES.c.post_id)
    )


_ADD = _adding(_MAY_VOTE)
_ADD_FOR_DEMO = _adding(THE_POST.exists)
_REMOVE = delete(_VOTES).where(_CALLERS_VOTE, _MAY_VOTE).returning(_VOTES.c.post_id)


async def add_vote(session: AsyncSession, claims: TokenClaims, post_id: int) -> None:
    params = {**token_params(claims), "post_id": post_id, "now": utcnow()}
    await write_or_explain(
        session,
        _ADD,
        params,
        target=THE_POST,
        refused=Conflict(f"User {claims.user_id} has already voted on post {post_id}"),
    )


async def add_vote_for_demo(session: AsyncSession, voter_id: int, post_id: int) -> bool:
    """For app.demo, which votes for its users without a session of theirs: the vote, unless
    they have voted already or may not see the post. True when it was added."""
    params = {"viewer_id": voter_id, "post_id": post_id, "now": utcnow()}
    return await run_alone(session, _ADD_FOR_DEMO, params) is not None


async def remove_vote(session: AsyncSession, claims: TokenClaims, post_id: int) -> None:
    await write_or_explain(
        session,
        _REMOVE,
        {**token_params(claims), "post_id": post_id},
        target=THE_POST,
        refused=NotFound("Vote does not exist"),
    )
