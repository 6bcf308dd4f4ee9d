"""Sessions (one per login, a device): starting one, refreshing its tokens, listing and ending
them. A session lives until it is ended or its refresh token goes unused for
REFRESH_TOKEN_EXPIRE_DAYS; ending it deletes its row, and every access token that names it
fails at once (the token check joins the `sessions` row)."""

import ipaddress
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    CTE,
    ColumnElement,
    DateTime,
    Insert,
    Integer,
    Select,
    String,
    Subquery,
    and_,
    bindparam,
    exists,
    insert,
)
from sqlalchemy import select as sql_select
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import col, delete, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.config import settings
from app.core.errors import Unauthorized
from app.core.security import TokenClaims, create_access_token, new_opaque_token, token_digest
from app.db import reads
from app.db.engine import SessionFactory, engine
from app.db.reads import Compiled
from app.db.statements import run_alone_on_postgresql
from app.models import RefreshToken, Session, SessionPublic, TokenPair, User, table_of, utcnow
from app.models.sessions import MAX_CLIENT, MAX_USER_AGENT

INVALID_REFRESH = "Invalid refresh token"


def _expired_before(now: datetime) -> datetime:
    return now - timedelta(days=settings.REFRESH_TOKEN_EXPIRE_DAYS)


def _pair(user_id: int, session_id: int, refresh_token: str) -> TokenPair:
    return TokenPair(
        access_token=create_access_token(user_id, session_id),
        expires_in=settings.ACCESS_TOKEN_EXPIRE_MINUTES * 60,
        refresh_token=refresh_token,
    )


def _ip_address(client: str | None) -> str | None:
    """`client` in its canonical form if it is an IP address that fits the column, else None
    (unknown): behind a trusted proxy it is X-Forwarded-For's text as uvicorn took it, which
    may be anything, and a user listing sessions expects an address or nothing."""
    try:
        address = str(ipaddress.ip_address(client)) if client else None
    except ValueError:
        return None
    return address if address and len(address) <= MAX_CLIENT else None


# A login's writes (`start`), built once. The account as its password was checked: unchanged
# since (`auth_epoch`), not disabled; FOR SHARE: a change that ends every session updates this
# row, so it waits for the login's transaction, then finds and ends the new session too; or it
# came first, and the login finds the epoch moved. (SQLite: the transaction holds the write
# lock anyway.)
_SESSIONS, _REFRESH_TOKENS = table_of(Session), table_of(RefreshToken)
_NOW = bindparam("now", type_=DateTime(timezone=True))
_UNCHANGED = (
    select(col(User.id))
    .where(
        col(User.id) == bindparam("user_id", type_=Integer),
        col(User.auth_epoch) == bindparam("epoch", type_=Integer),
        col(User.disabled).is_(False),
    )
    .with_for_update(read=True)
)
# The account's expired sessions go at its next login: nothing else needs to clean them up.
_EXPIRED = delete(_SESSIONS).where(
    _SESSIONS.c.user_id == bindparam("user_id", type_=Integer),
    _SESSIONS.c.last_used_at < bindparam("expired_before", type_=DateTime(timezone=True)),
)


def _new_session(account: Subquery | CTE) -> Insert:
    """The session, if `account` has the account's row; RETURNING its id."""
    row = sql_select(
        account.c.id,
        _NOW,
        _NOW,
        bindparam("user_agent", type_=String),
        bindparam("client", type_=String),
    )
    columns = ["user_id", "created_at", "last_used_at", "user_agent", "client"]
    return insert(_SESSIONS).from_select(columns, row).returning(_SESSIONS.c.id)


def _first_token(session_id: ColumnElement[Any]) -> Select[Any]:
    return sql_select(bindparam("token_hash", type_=String), session_id, _NOW)


_TOKEN_COLUMNS = ["token_hash", "session_id", "created_at"]
# PostgreSQL: all of it in one statement, run alone (autocommit: one round trip instead of
# seven; a login's event-loop CPU 8.9 -> 5.7 ms in one bench.compare run, bench/README.md,
# "Logins at the machine's bcrypt limit").
_started = _new_session(_UNCHANGED.cte("account")).cte("started")
_START_AT_ONCE = (
    insert(_REFRESH_TOKENS)
    .from_select(_TOKEN_COLUMNS, _first_token(_started.c.id))
    .returning(_REFRESH_TOKENS.c.session_id)
    .add_cte(_EXPIRED.cte("expired"))
)
# SQLite has no writes in WITH: the same steps one by one, in the session's transaction.
_NEW_SESSION = _new_session(_UNCHANGED.subquery("account"))
_FIRST_TOKEN = insert(_REFRESH_TOKENS).from_select(
    _TOKEN_COLUMNS, _first_token(bindparam("session_id", type_=Integer))
)
_AT_ONCE = engine.dialect.name == "postgresql"


async def start(
    user_id: int,
    auth_epoch: int,
    *,
    user_agent: str | None,
    client: str | None,
) -> TokenPair | None:
    """A new session for account `user_id`, whose password was just checked against the
    account as it was at `auth_epoch`, with its first tokens. None when the account changed
    since (a password change or reset, logout-all, being disabled: `auth_epoch` moved) or is
    gone: a password check that began before such a change never yields a working token."""
    now = utcnow()
    refresh_token = new_opaque_token()
    params = {
        "user_id": user_id,
        "epoch": auth_epoch,
        "now": now,
        "expired_before": _expired_before(now),
        "user_agent": user_agent[:MAX_USER_AGENT] if user_agent else None,
        "client": _ip_address(client),
        "token_hash": token_digest(refresh_token),
    }
    if _AT_ONCE:
        row = await run_alone_on_postgresql(_START_AT_ONCE, params)
        session_id = row[0] if row else None
    else:
        async with SessionFactory() as session:
            session_id = await _start_step_by_step(session, params)
    return None if session_id is None else _pair(user_id, session_id, refresh_token)


async def _start_step_by_step(session: AsyncSession, params: dict[str, Any]) -> int | None:
    session_id: int | None = (await session.exec(_NEW_SESSION, params=params)).scalar()
    if session_id is None:
        await session.rollback()
        return None
    await session.exec(_EXPIRED, params=params)
    await session.exec(_FIRST_TOKEN, params={**params, "session_id": session_id})
    await session.commit()
    return session_id


async def refresh(session: AsyncSession, refresh_token: str) -> TokenPair:
    """A new token pair for the session of `refresh_token`, which is used up. A token that was
    used up already was copied (RFC 9700, refresh token rotation): its session ends."""
    digest = token_digest(refresh_token)
    now = utcnow()
    # The session row first, locked: the order every writer of a session follows (ending one
    # deletes its row, then its tokens by cascade), so a refresh racing a logout waits for it
    # instead of deadlocking. (SQLite: the transaction holds the write lock anyway.) The same
    # statement says whether the session may go on: not expired, its account not disabled.
    of_token = select(col(RefreshToken.session_id)).where(col(RefreshToken.token_hash) == digest)
    live = and_(col(Session.last_used_at) >= _expired_before(now), col(User.disabled).is_(False))
    locked = (
        select(col(Session.id), col(Session.user_id), live)
        .join(User, col(User.id) == col(Session.user_id))
        .where(col(Session.id) == of_token.scalar_subquery())
        .with_for_update(of=Session)
    )
    found = (await session.exec(locked)).first()
    if found is None:  # unknown, or its session has ended
        await session.rollback()
        raise Unauthorized(INVALID_REFRESH)
    session_id, user_id, alive = found
    assert session_id is not None  # a primary key
    used = update(RefreshToken).where(
        col(RefreshToken.token_hash) == digest, col(RefreshToken.used_at).is_(None)
    )
    # Of concurrent refreshes with one token, one takes it; the others find it retired (a
    # copy: the session ends). An expired session, or a disabled account's, ends here too.
    taken = (await session.exec(used.values(used_at=now))).rowcount == 1
    if not (taken and alive):
        await session.exec(delete(Session).where(col(Session.id) == session_id))
        await session.commit()
        raise Unauthorized(INVALID_REFRESH)
    new_token = new_opaque_token()
    session.add(RefreshToken(token_hash=token_digest(new_token), session_id=session_id))
    await session.exec(
        update(Session).where(col(Session.id) == session_id).values(last_used_at=now)
    )
    await session.commit()
    return _pair(user_id, session_id, new_token)


# The token's session still lives (sessions are deleted when they end): the check that writes
# make inside their own statement, with the parameters `viewer_id` and `session_id`.
SESSION_ALIVE = exists().where(
    col(Session.id) == bindparam("session_id", type_=Integer),
    col(Session.user_id) == bindparam("viewer_id", type_=Integer),
)


def token_params(claims: TokenClaims) -> dict[str, int]:
    """The parameters of `SESSION_ALIVE` (and of every statement that includes it)."""
    return {"viewer_id": claims.user_id, "session_id": claims.session_id}


# The caller, in a session of theirs that lives: for the endpoints that need the account.
_SESSION_USER = select(User).where(col(User.id) == bindparam("viewer_id"), SESSION_ALIVE)


async def find_session_user(session: AsyncSession, claims: TokenClaims) -> User | None:
    """The token's user, if its session still lives (sessions are deleted when they end)."""
    return (await session.exec(_SESSION_USER, params=token_params(claims))).first()


async def list_sessions(session: AsyncSession, claims: TokenClaims) -> list[SessionPublic]:
    """The caller's live sessions, most recently used first; 401 when the caller's own session
    is not among them (ended: its token no longer works). One query, the token check included."""
    statement = (
        select(Session)
        .where(
            col(Session.user_id) == claims.user_id,
            col(Session.last_used_at) >= _expired_before(utcnow()),
        )
        .order_by(col(Session.last_used_at).desc(), col(Session.id).desc())
    )
    rows = [
        SessionPublic.model_validate(row, update={"current": row.id == claims.session_id})
        for row in (await session.exec(statement)).all()
    ]
    if not any(row.current for row in rows):
        raise Unauthorized()
    return rows


async def end(session: AsyncSession, user_id: int, session_id: int) -> bool:
    """End a live session of the user's; False when there is none by that id."""
    statement = (
        delete(Session)
        .where(
            col(Session.id) == session_id,
            col(Session.user_id) == user_id,
            col(Session.last_used_at) >= _expired_before(utcnow()),
        )
        .returning(col(Session.id))
    )
    ended = (await session.exec(statement)).first() is not None
    await session.commit()
    return ended


async def end_every_session(session: AsyncSession, user: User) -> None:
    """Within the caller's transaction (it commits): every session of the account ends, and a
    login whose password check is under way will not start one (`start`). An account deleted
    meanwhile raises StaleDataError, as the ORM's own update of it would."""
    bump = (
        update(User)
        .where(col(User.id) == user.id)
        .values(auth_epoch=col(User.auth_epoch) + 1)
        .returning(col(User.auth_epoch))
    )
    epoch: int | None = (await session.exec(bump)).scalar()
    if epoch is None:
        raise StaleDataError(f"account {user.id} deleted")
    set_committed_value(user, "auth_epoch", epoch)  # the loaded account agrees, unchanged
    await session.exec(delete(Session).where(col(Session.user_id) == user.id))


# The check behind the `Caller` dependency (app/api/deps.py), on the read path: one small
# statement, for the routes whose own SQL does not check the session.
_ALIVE = Compiled(
    select(col(Session.id)).where(
        col(Session.id) == bindparam("session_id", type_=Integer),
        col(Session.user_id) == bindparam("viewer_id", type_=Integer),
    )
)


async def is_alive(claims: TokenClaims) -> bool:
    """Whether the token's session still lives (sessions are deleted when they end)."""
    return bool(await reads.fetch(_ALIVE, token_params(claims)))
