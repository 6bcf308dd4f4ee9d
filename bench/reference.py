"""The reference for logins: `POST /login` as a plain thread-pool implementation writes it.

A sync `def` route, which Starlette runs in its thread pool (anyio's, 40 threads): it reads the
user's id and hash (one query on a small pool of autocommit psycopg connections, given back
before bcrypt), checks the password with `bcrypt.checkpw` at normal priority, and signs an
HS256 access token. No session, no refresh token, no rate limit, no middleware, no access log:
what a login costs with nothing around it. Served and loaded like the app (one uvicorn worker,
`bench/logins.py`, 16 connections) over the same seeded users, it is the rate the
app's `POST /login` must not fall below (`bench.run`'s `reference` scenario).

The database comes from REFERENCE_DATABASE_URL (a `postgresql://` URL), set by bench/run.py.
"""

import os
import queue
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import bcrypt
import jwt
import psycopg
from fastapi import Depends, FastAPI, HTTPException
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


def _user(email: str) -> tuple[int, str] | None:
    connection = _idle.get()
    try:
        return connection.execute(
            "SELECT id, hashed_password FROM users WHERE email_key = %s",
            (email.strip().lower(),),
        ).fetchone()
    finally:
        _idle.put(connection)


@app.post("/login")
def login(form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> dict[str, str]:
    user = _user(form.username)
    if user is None or not bcrypt.checkpw(form.password.encode(), user[1].encode()):
        raise HTTPException(status_code=401, detail="Incorrect email or password")
    now = datetime.now(UTC)
    claims = {"sub": str(user[0]), "iat": now, "exp": now + timedelta(minutes=ACCESS_TOKEN_MINUTES)}
    token = jwt.encode(claims, SECRET_KEY, algorithm="HS256")
    return {"access_token": token, "token_type": "bearer"}
