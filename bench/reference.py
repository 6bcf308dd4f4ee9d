"""The reference for logins: `POST /login` as a plain thread-pool implementation writes it.

Sync `def` routes, which Starlette runs in its thread pool (anyio's, 40 threads), on a small
pool of autocommit psycopg connections (given back before bcrypt), checking the password with
`bcrypt.checkpw` at normal priority. Served and loaded like the app (one uvicorn worker,
`bench/logins.py`, 16 connections) over the same seeded users, in two variants:

- `POST /login` (`bench.run`'s `reference` scenario): reads the account, checks the password
  and signs an HS256 access token. No session, no refresh token: what a password check
  costs with nothing around it.
- `POST /login-with-session` (`reference-session`): the app's route as a plain implementation
  writes it: the same check, `disabled` answered 403, then the session and its first refresh
  token (SHA-256 stored) in one transaction, and the app's token pair. What it leaves out of the
  app's route: the rate limits (off in the benchmark anyway), the middleware and access log, the
  check that the password did not change during bcrypt, and deleting the account's expired
  sessions.

The app's `POST /login` must not fall below their rates; the second variant does the app's
route's main work (the writes), the first less.

The database comes from REFERENCE_DATABASE_URL (a `postgresql://` URL), set by bench/run.py.
"""

import hashlib
import os
import queue
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import bcrypt
import jwt
import psycopg
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.security import OAuth2PasswordRequestForm

POOL_SIZE = 5  # as the floor's
SECRET_KEY = secrets.token_urlsafe(30)
ACCESS_TOKEN_MINUTES = 15
_idle: "queue.Queue[psycopg.Connection[Any]]" = queue.Queue()


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    url = os.environ["REFERENCE_DATABASE_URL"]
    for _ in range(POOL_SIZE):
        _idle.put_nowait(psycopg.connect(url, autocommit=True))
    yield
    while not _idle.empty():
        _idle.get_nowait().close()


app = FastAPI(lifespan=lifespan)


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@contextmanager
def _connection() -> Iterator[psycopg.Connection[Any]]:
    connection = _idle.get()
    try:
        yield connection
    finally:
        _idle.put(connection)


def _checked_account(form: OAuth2PasswordRequestForm) -> tuple[int, bool]:
    """The account's id and whether it is disabled, once its password is checked; 401 else."""
    with _connection() as connection:  # given back before bcrypt
        account: tuple[int, str, bool] | None = connection.execute(
            "SELECT id, hashed_password, disabled FROM users WHERE email_key = %s",
            (form.username.strip().lower(),),
        ).fetchone()
    if account is None or not bcrypt.checkpw(form.password.encode(), account[1].encode()):
        raise HTTPException(status_code=401, detail="Incorrect email or password")
    return account[0], account[2]


def _access_token(claims: dict[str, Any]) -> str:
    now = datetime.now(UTC)
    expires = now + timedelta(minutes=ACCESS_TOKEN_MINUTES)
    return jwt.encode({**claims, "iat": now, "exp": expires}, SECRET_KEY, algorithm="HS256")


@app.post("/login")
def login(form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> dict[str, str]:
    user_id, _ = _checked_account(form)
    return {"access_token": _access_token({"sub": str(user_id)}), "token_type": "bearer"}


def _start_session(user_id: int, user_agent: str | None, client: str | None) -> tuple[int, str]:
    """A new session and its first refresh token, in one transaction: (its id, the token)."""
    refresh_token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    with _connection() as connection, connection.transaction():
        row = connection.execute(
            "INSERT INTO sessions (user_id, created_at, last_used_at, user_agent, client)"
            " VALUES (%s, %s, %s, %s, %s) RETURNING id",
            (user_id, now, now, user_agent, client),
        ).fetchone()
        assert row is not None
        connection.execute(
            "INSERT INTO refresh_tokens (token_hash, session_id, created_at) VALUES (%s, %s, %s)",
            (hashlib.sha256(refresh_token.encode()).hexdigest(), row[0], now),
        )
    return row[0], refresh_token


@app.post("/login-with-session")
def login_with_session(
    request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()]
) -> dict[str, str | int]:
    user_id, disabled = _checked_account(form)
    if disabled:
        raise HTTPException(status_code=403, detail="Account disabled")
    client = request.client.host if request.client else None
    session_id, refresh_token = _start_session(user_id, request.headers.get("user-agent"), client)
    return {
        "access_token": _access_token({"sub": str(user_id), "sid": session_id}),
        "token_type": "bearer",
        "expires_in": ACCESS_TOKEN_MINUTES * 60,
        "refresh_token": refresh_token,
    }
