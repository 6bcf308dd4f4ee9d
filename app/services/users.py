"""Users: registration, authentication, profile changes, deletion."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import Integer, bindparam
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.errors import Conflict, Forbidden, NotFound, ServiceError, Unauthorized
from app.core.security import hash_password, verify_password
from app.models import PasswordResetToken, User, UserCreate, UserUpdate, email_key
from app.services import sessions

EMAIL_TAKEN = "Email already registered"
USER_NOT_FOUND = "User not found"


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


async def find_by_email(session: AsyncSession, address: str) -> User | None:
    """The account of `address`, whichever spelling of its canonical form it is written in."""
    statement = select(User).where(col(User.email_key) == email_key(address))
    return (await session.exec(statement)).first()


async def authenticate(session: AsyncSession, email: str, password: str) -> User | None:
    """The user if the password matches; unknown emails cost the same bcrypt time."""
    user = await find_by_email(session, email)
    await _release_connection(session)
    if not await verify_password(
        password, user.hashed_password if user else None, account=email_key(email)
    ):
        return None
    return user


async def update_me(session: AsyncSession, user: User, data: UserUpdate) -> User:
    changes = data.model_dump(exclude_unset=True, exclude={"current_password"})
    # The model guarantees current_password is present when email or password changes.
    if "email" in changes or "password" in changes:
        await _release_connection(session)  # the token check's transaction
        if not await verify_password(
            data.current_password or "", user.hashed_password, account=user.email_key
        ):
            raise Forbidden("Current password is incorrect")
    new_password = changes.pop("password", None)
    hashed = (
        await hash_password(new_password, account=user.email_key)
        if new_password is not None
        else None
    )
    if "email" in changes:
        changes["email_key"] = email_key(changes["email"])
    async with changing_account(session):
        user.sqlmodel_update(changes)
        session.add(user)
        if hashed is not None:
            await set_password(session, user, hashed)
    return user


async def set_password(session: AsyncSession, user: User, hashed: str) -> None:
    """Within the caller's transaction: the new hash; every session of the account ends, and
    its pending password-reset links stop working."""
    user.hashed_password = hashed
    session.add(user)
    await sessions.end_every_session(session, user)
    await session.exec(delete(PasswordResetToken).where(col(PasswordResetToken.user_id) == user.id))


async def log_out_everywhere(session: AsyncSession, user: User) -> None:
    """Every session of the account ends: every token issued before this moment stops working."""
    async with changing_account(session):
        await sessions.end_every_session(session, user)


async def delete_user(session: AsyncSession, user_id: int) -> bool:
    """Delete the account; the database removes its posts, votes and sessions (ON DELETE
    CASCADE). False when a concurrent request deleted it first."""
    statement = delete(User).where(col(User.id) == user_id).returning(col(User.id))
    deleted = (await session.exec(statement)).first() is not None
    await session.commit()
    return deleted
