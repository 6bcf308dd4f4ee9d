"""Password resets by e-mail: a single-use, expiring token sent to the account's address, then
exchanged for a new password, which ends every session of the account.

The request answers the same for every address and at once: the lookup, the token and the
e-mail happen after the response (`send_reset_link`, a background task), so neither the answer
nor its timing says whether the address has an account.
"""

import logging
from datetime import timedelta

from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.config import settings
from app.core.errors import BadRequest
from app.core.security import hash_password, new_opaque_token, token_digest
from app.db.engine import SessionFactory
from app.email.delivery import deliver
from app.email.messages import password_reset_email
from app.models import PasswordResetConfirm, PasswordResetToken, User, email_key, utcnow
from app.services import users

logger = logging.getLogger("app.password_reset")

INVALID_TOKEN = "Invalid or expired reset token"


async def send_reset_link(address: str) -> None:
    """If `address` (any spelling of it) has an enabled account: a new reset token, which
    retires the older ones, and the e-mail that carries it. Runs after the response."""
    async with SessionFactory() as session:
        # FOR SHARE: a change of the address in flight is waited for, after which the old
        # address has no account; a change that comes later waits for this token, then retires
        # it. (SQLite: the transaction holds the write lock anyway.)
        of_address = select(User).where(col(User.email_key) == email_key(address))
        user = (await session.exec(of_address.with_for_update(read=True))).first()
        if user is None or user.disabled:
            return
        token = new_opaque_token()
        await session.exec(
            delete(PasswordResetToken).where(col(PasswordResetToken.user_id) == user.id)
        )
        expires = utcnow() + timedelta(minutes=settings.PASSWORD_RESET_EXPIRE_MINUTES)
        assert user.id is not None
        session.add(
            PasswordResetToken(token_hash=token_digest(token), user_id=user.id, expires_at=expires)
        )
        await session.commit()
        email = user.email
    await deliver(password_reset_email(email, token))


async def reset_password(session: AsyncSession, data: PasswordResetConfirm) -> None:
    """The new password for the account of a valid token, which is used up; every session of
    the account ends. 400 for a token unknown, expired or used already."""
    digest = token_digest(data.token)
    valid = select(PasswordResetToken).where(
        col(PasswordResetToken.token_hash) == digest,
        col(PasswordResetToken.expires_at) > utcnow(),
    )
    found = (await session.exec(valid)).first()
    await session.commit()  # no transaction held while bcrypt runs
    if found is None:
        raise BadRequest(INVALID_TOKEN)
    hashed = await hash_password(data.new_password, account=f"user {found.user_id}")
    # The account's row first, locked, as every change of an account takes it: a change of its
    # password or address in flight waits for this reset (then finds its session ended), or
    # committed first and retired the token.
    user = await users.lock_account(session, found.user_id)
    # One statement takes the token: of concurrent resets with it, exactly one gets it.
    taken = delete(PasswordResetToken).where(
        col(PasswordResetToken.token_hash) == digest,
        col(PasswordResetToken.expires_at) > utcnow(),
    )
    token_taken = (await session.exec(taken.returning(col(PasswordResetToken.user_id)))).first()
    # A disabled account's pending links stop working too.
    if token_taken is None or user is None or user.disabled:
        await session.rollback()
        raise BadRequest(INVALID_TOKEN)
    async with users.changing_account(session, gone=BadRequest(INVALID_TOKEN)):
        await users.set_password(session, user, hashed)
    logger.info("password reset for user %s", user.id)
