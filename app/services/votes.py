"""Votes: one per user and post, guarded by the primary key."""

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, delete
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.errors import Conflict, NotFound
from app.models import User, Vote, utcnow
from app.services.posts import get_visible_post

_INSERTS: dict[str, Any] = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


async def add_vote(session: AsyncSession, user: User, post_id: int) -> None:
    await get_visible_post(session, user.id or 0, post_id)
    insert = _INSERTS[session.get_bind().dialect.name]
    # INSERT ... ON CONFLICT DO NOTHING: the primary key settles concurrent duplicates.
    statement = (
        insert(Vote)
        .values(post_id=post_id, user_id=user.id, created_at=utcnow())
        .on_conflict_do_nothing()
        .returning(col(Vote.post_id))  # a row back means this request inserted the vote
    )
    try:
        inserted = (await session.exec(statement)).first() is not None
        await session.commit()
    except IntegrityError:  # the post was deleted meanwhile (foreign key)
        await session.rollback()
        raise NotFound("Post not found") from None
    if not inserted:
        raise Conflict(f"User {user.id} has already voted on post {post_id}")


async def remove_vote(session: AsyncSession, user: User, post_id: int) -> None:
    await get_visible_post(session, user.id or 0, post_id)
    statement = (
        delete(Vote)
        .where(col(Vote.post_id) == post_id, col(Vote.user_id) == user.id)
        .returning(col(Vote.post_id))
    )
    deleted = (await session.exec(statement)).first() is not None
    await session.commit()
    if not deleted:
        raise NotFound("Vote does not exist")
