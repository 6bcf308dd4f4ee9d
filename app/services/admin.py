"""What admins do: list and look at accounts, disable and enable them, make and unmake
admins, delete accounts. (Deleting any post is app/services/posts.py's `delete_post`.)"""

from typing import Any

from sqlalchemy import Integer, bindparam, func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.errors import Conflict, NotFound
from app.db.sql import like_ignoring_case, like_pattern
from app.models import Post, User, UserAdmin, UserAdminUpdate
from app.services import sessions, users
from app.services.users import USER_NOT_FOUND

_POSTS = (
    select(func.count())
    .select_from(Post)
    .where(col(Post.owner_id) == col(User.id))
    .scalar_subquery()
    .label("posts")
)


def _admin_view(row: Any) -> UserAdmin:
    user, posts = row
    return UserAdmin.model_validate(user, update={"posts": posts})


async def list_users(
    session: AsyncSession, *, limit: int, skip: int, search: str | None
) -> list[UserAdmin]:
    """Accounts newest first, each with its number of posts (drafts included); `search` is a
    literal substring of the address or the name, in any case."""
    statement = select(User, _POSTS).order_by(col(User.created_at).desc(), col(User.id).desc())
    if search:
        pattern = like_pattern(search)
        statement = statement.where(
            or_(
                like_ignoring_case(col(User.email), pattern),
                like_ignoring_case(col(User.name), pattern),
            )
        )
    rows = (await session.exec(statement.limit(limit).offset(skip))).all()
    return [_admin_view(row) for row in rows]


_ONE = select(User, _POSTS).where(col(User.id) == bindparam("user_id", type_=Integer))


async def get_user(session: AsyncSession, user_id: int) -> UserAdmin:
    row = (await session.exec(_ONE, params={"user_id": user_id})).first()
    if row is None:
        raise NotFound(USER_NOT_FOUND)
    return _admin_view(row)


async def update_user(
    session: AsyncSession, admin: User, user_id: int, changes: UserAdminUpdate
) -> UserAdmin:
    """Disable or enable an account, make or unmake an admin. Disabling ends every session of
    the account at once. Admins cannot disable or demote themselves (an admin locked out by
    mistake would need the command line), nor the last enabled admin."""
    wanted = changes.model_dump(exclude_unset=True)
    removes_an_admin = wanted.get("disabled") is True or wanted.get("is_admin") is False
    if user_id == admin.id and removes_an_admin:
        raise Conflict("Admins cannot disable or demote themselves")
    if removes_an_admin:
        await users.keep_an_active_admin(session, user_id)
    # The account and its post count, read once: neither flag changes the count.
    row = (await session.exec(_ONE, params={"user_id": user_id})).first()
    if row is None:
        raise NotFound(USER_NOT_FOUND)
    user, posts = row
    async with users.changing_account(session, gone=NotFound(USER_NOT_FOUND)):
        user.sqlmodel_update(wanted)
        session.add(user)
        if wanted.get("disabled") is True:
            await sessions.end_every_session(session, user)
    return _admin_view((user, posts))


async def delete_user(session: AsyncSession, admin: User, user_id: int) -> None:
    if user_id == admin.id:
        raise Conflict("Admins cannot delete themselves here")
    if not await users.delete_user(session, user_id):
        raise NotFound(USER_NOT_FOUND)


async def set_admin(session: AsyncSession, address: str, is_admin: bool) -> User | None:
    """For the command line: make (or unmake) the account of `address` an admin; None when
    there is no such account, 409 for the last enabled admin."""
    user = await users.find_by_email(session, address)
    if user is None:
        return None
    if not is_admin:
        assert user.id is not None
        await users.keep_an_active_admin(session, user.id)
    async with users.changing_account(session):
        user.is_admin = is_admin
        session.add(user)
    return user
