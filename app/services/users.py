"""Users: registration, authentication, profile changes, deletion."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Protocol

from sqlalchemy import Integer, bindparam
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.errors import Conflict, Forbidden, NotFound, ServiceError, Unauthorized
from app.core.security import TokenClaims, hash_password, verify_password
from app.db import reads
from app.db.reads import Compiled
from app.db.rows import Shape, columns_for, labelled
from app.models import (
    LoginAccount,
    PasswordResetToken,
    User,
    UserCreate,
    UserUpdate,
    email_key,
    table_of,
)
from app.services import sessions

EMAIL_TAKEN = "Email already registered"
USER_NOT_FOUND = "User not found"
LAST_ADMIN = "At least one active admin must remain"


async def _release_connection(session: AsyncSession) -> None:
    """End the (read-only) transaction before bcrypt runs: a hash can wait its turn for a
    while, and must not hold a pooled connection meanwhile. Loaded objects stay usable
    (expire_on_commit=False), and the next statement starts a new transaction."""
    await session.commit()


@asynccontextmanager
async def changing_account(
    session: AsyncSession, gone: ServiceError | None = None
) -> AsyncIterator[None]:
    """The changes made to an account in the block, committed. The unique index on the
    canonical address decides an e-mail conflict, even between concurrent requests (409); an
    account a concurrent request deleted leaves nothing to update: `gone` is raised (by
    default 401, for the caller's own account)."""
    try:
        yield
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise Conflict(EMAIL_TAKEN) from None
    except StaleDataError:
        await session.rollback()
        raise (gone or Unauthorized()) from None


async def register(session: AsyncSession, data: UserCreate) -> User:
    hashed = await hash_password(data.password, account=email_key(data.email))
    user = User.model_validate(
        data, update={"hashed_password": hashed, "email_key": email_key(data.email)}
    )
    async with changing_account(session):
        session.add(user)
    return user


# Built once: every authenticated request runs it (session.get would build it anew each time).
_BY_ID = select(User).where(col(User.id) == bindparam("user_id", type_=Integer))


async def find_user(session: AsyncSession, user_id: int) -> User | None:
    return (await session.exec(_BY_ID, params={"user_id": user_id})).first()


async def get_user(session: AsyncSession, user_id: int) -> User:
    user = await find_user(session, user_id)
    if user is None:
        raise NotFound(USER_NOT_FOUND)
    return user


# The account locked for a change: NO KEY UPDATE, so that rows referring to it (posts, votes)
# can still be inserted meanwhile. (SQLite: the transaction holds the write lock anyway.)
_LOCKED = _BY_ID.with_for_update(key_share=True).execution_options(populate_existing=True)


async def lock_account(session: AsyncSession, user_id: int) -> User | None:
    """The account, locked until the transaction ends: concurrent changes of it take turns."""
    return (await session.exec(_LOCKED, params={"user_id": user_id})).first()


async def find_by_email(session: AsyncSession, address: str) -> User | None:
    """The account of `address`, whichever spelling of its canonical form it is written in."""
    statement = select(User).where(col(User.email_key) == email_key(address))
    return (await session.exec(statement)).first()


# A login's read of the account, on the read path: one statement on a pooled connection,
# given back before bcrypt runs (the ORM session and its transaction cost a login about 1 ms of
# the event loop's CPU, which the bcrypt threads need).
_USERS = table_of(User)
_LOGIN_ACCOUNT = select(*labelled(columns_for(LoginAccount, _USERS))).where(
    _USERS.c.email_key == bindparam("email_key", type_=_USERS.c.email_key.type)
)
_LOGIN_QUERY, _LOGIN_SHAPE = Compiled(_LOGIN_ACCOUNT), Shape(LoginAccount, _LOGIN_ACCOUNT)


async def authenticate(key: str, password: str) -> LoginAccount | None:
    """The account whose address has `key` (`email_key`), if the password matches; unknown
    addresses cost the same bcrypt time."""
    rows = await reads.fetch(_LOGIN_QUERY, {"email_key": key})
    account = _LOGIN_SHAPE(rows[0]) if rows else None
    hashed = account.hashed_password if account else None
    if not await verify_password(password, hashed, account=key):
        return None
    return account


class PasswordChecks(Protocol):
    """The limit on checks of an account's password (the router's rate limits): `take` before
    bcrypt runs (429 past the limit), `give_back` when the password was right, so that only
    failures count."""

    async def take(self) -> None: ...

    async def give_back(self) -> None: ...


# The caller's account as it was loaded (`auth_epoch` unchanged: no password change or reset,
# logout-all or disabling since), in a session of theirs that still lives, locked (as
# `_LOCKED`) until the change commits: a reset that comes later waits for it; one that
# committed first, while the change's bcrypt ran, moved the epoch, so no row.
_UNCHANGED_SINCE_LOADED = (
    select(col(User.id))
    .where(
        col(User.id) == bindparam("viewer_id", type_=Integer),
        col(User.auth_epoch) == bindparam("auth_epoch", type_=Integer),
        sessions.SESSION_ALIVE,
    )
    .with_for_update(key_share=True)
)


async def update_me(
    session: AsyncSession,
    user: User,
    claims: TokenClaims,
    data: UserUpdate,
    password_checks: PasswordChecks,
) -> User:
    """Change the caller's name, address or password. The change lands only if the caller's
    session still lives and the account was not changed meanwhile (a password reset, another
    change, logout-all, being disabled): else 401, whenever that happened during the request."""
    changes = data.model_dump(exclude_unset=True, exclude={"current_password"})
    # The model guarantees current_password is present when email or password changes.
    if "email" in changes or "password" in changes:
        await _release_connection(session)  # the token check's transaction
        await password_checks.take()
        if not await verify_password(
            data.current_password or "", user.hashed_password, account=user.email_key
        ):
            raise Forbidden("Current password is incorrect")
        await password_checks.give_back()  # only failures count
    new_password = changes.pop("password", None)
    hashed = (
        await hash_password(new_password, account=user.email_key)
        if new_password is not None
        else None
    )
    if "email" in changes:
        changes["email_key"] = email_key(changes["email"])
    new_address = changes.get("email_key", user.email_key) != user.email_key
    async with changing_account(session):
        unchanged = {**sessions.token_params(claims), "auth_epoch": user.auth_epoch}
        if (await session.exec(_UNCHANGED_SINCE_LOADED, params=unchanged)).first() is None:
            await session.rollback()
            raise Unauthorized()
        user.sqlmodel_update(changes)
        session.add(user)
        if hashed is not None:
            await set_password(session, user, hashed)
        elif new_address:  # links mailed to the old address stop working
            await _retire_reset_tokens(session, user)
    return user


async def set_password(session: AsyncSession, user: User, hashed: str) -> None:
    """Within the caller's transaction: the new hash; every session of the account ends, and
    its pending password-reset links stop working."""
    user.hashed_password = hashed
    session.add(user)
    await sessions.end_every_session(session, user)
    await _retire_reset_tokens(session, user)


async def _retire_reset_tokens(session: AsyncSession, user: User) -> None:
    await session.exec(delete(PasswordResetToken).where(col(PasswordResetToken.user_id) == user.id))


async def log_out_everywhere(session: AsyncSession, user: User) -> None:
    """Every session of the account ends: every token issued before this moment stops working."""
    async with changing_account(session):
        await sessions.end_every_session(session, user)


# The enabled admins, locked until the transaction ends, in id order so that concurrent callers
# queue instead of deadlocking. NO KEY UPDATE: rows that refer to them (posts, votes) can still
# be inserted meanwhile. (SQLite: the transaction holds the write lock anyway.)
_ACTIVE_ADMINS = (
    select(col(User.id))
    .where(col(User.is_admin), ~col(User.disabled))  # as ix_users_active_admins says it
    .order_by(col(User.id))
    .with_for_update(key_share=True)
)


async def keep_an_active_admin(session: AsyncSession, user_id: int) -> None:
    """Within the transaction of a change that may leave `user_id` no enabled admin (demoted,
    disabled, deleted): 409 when no other enabled admin would remain. The enabled admins stay
    locked until the change commits, so two admins removing each other at the same moment
    take turns, and the second finds itself the last."""
    if (await session.exec(_ACTIVE_ADMINS)).all() == [user_id]:
        await session.rollback()
        raise Conflict(LAST_ADMIN)


async def delete_user(session: AsyncSession, user_id: int) -> bool:
    """Delete the account; the database removes its posts, votes and sessions (ON DELETE
    CASCADE). False when a concurrent request deleted it first; 409 for the last enabled
    admin (checked for every account: one promoted a moment ago counts too)."""
    await keep_an_active_admin(session, user_id)
    statement = delete(User).where(col(User.id) == user_id).returning(col(User.id))
    deleted = (await session.exec(statement)).first() is not None
    await session.commit()
    return deleted
