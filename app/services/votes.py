"""Votes: one per user and post, guarded by the primary key."""

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, delete
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.errors import Conflict, NotFound, Unauthorized
from app.models import User, Vote, utcnow
from app.services.posts import POST_NOT_FOUND, get_visible_post
from app.services.users import find_user

_INSERTS: dict[str, Any] = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


async def add_vote(session: AsyncSession, user: User, post_id: int) -> None:
    user_id = user.id  # read now: a rollback below expires the loaded user
    assert user_id is not None
    await get_visible_post(session, user_id, post_id)
    insert = _INSERTS[session.get_bind().dialect.name]
    # INSERT ... ON CONFLICT DO NOTHING: the primary key settles concurrent duplicates.
    statement = (
        insert(Vote)
        .values(post_id=post_id, user_id=user_id, created_at=utcnow())
        .on_conflict_do_nothing()
        .returning(col(Vote.post_id))  # a row back means this request inserted the vote
    )
    try:
        inserted = (await session.exec(statement)).first() is not None
        await session.commit()
    except IntegrityError:
        # A foreign key: the post, or the voter's account, was deleted meanwhile.
        await session.rollback()
        if await find_user(session, user_id) is None:
            raise Unauthorized() from None
        raise NotFound(POST_NOT_FOUND) from None
    if not inserted:
        raise Conflict(f"User {user_id} has already voted on post {post_id}")


async def remove_vote(session: AsyncSession, user: User, post_id: int) -> None:
    assert user.id is not None
    await get_visible_post(session, user.id, post_id)
    statement = (
        delete(Vote)
        .where(col(Vote.post_id) == post_id, col(Vote.user_id) == user.id)
        .returning(col(Vote.post_id))
    )
    deleted = (await session.exec(statement)).first() is not None
    await session.commit()
    if not deleted:
        raise NotFound("Vote does not exist")
