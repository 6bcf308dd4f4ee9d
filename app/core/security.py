"""Password hashing (bcrypt, off the event loop) and access tokens (JWT, HS256 only)."""

import asyncio
import hashlib
import os
import secrets
import time
from collections.abc import Callable, Hashable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import TypeVar, TypeVarTuple

import bcrypt
import jwt

from app.core.config import settings
from app.core.fair_threads import FairThreadPool

ALGORITHM = "HS256"
T = TypeVar("T")
Ts = TypeVarTuple("Ts")

# bcrypt is CPU-bound and releases the GIL. It runs on threads of its own, one per core, at a
# lower CPU priority: logins alone use every core (one worker hashes as fast as the machine
# can), while a burst of them next to other requests takes only the CPU those leave, instead
# of stalling them. The threads serve the accounts in turn (FairThreadPool): one account's
# flood of wrong passwords waits behind everyone else's logins, not in front of them.
BCRYPT_NICENESS = 10
_dummy_hash: bytes | None = None


def _lower_priority() -> None:
    with suppress(OSError):  # where it is not allowed, bcrypt runs at normal priority
        os.nice(BCRYPT_NICENESS)  # Linux: this thread only


def usable_cores() -> int:
    """The cores this process may run on (a container's CPU set, where there is one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


_bcrypt_threads = FairThreadPool(usable_cores(), "bcrypt", initializer=_lower_priority)


async def _in_bcrypt_thread(account: Hashable, function: Callable[[*Ts], T], *args: *Ts) -> T:
    # A request that goes away while its hash still waits for its turn cancels it.
    return await asyncio.wrap_future(_bcrypt_threads.submit(account, function, *args))


def _hash(password: bytes, rounds: int) -> bytes:
    return bcrypt.hashpw(password, bcrypt.gensalt(rounds))


async def hash_password(password: str, *, account: str) -> str:
    """The password's bcrypt hash, in `account`'s turn (see verify_password)."""
    # Callers validate the 72-byte limit first (422); bcrypt 5 raises past it.
    hashed = await _in_bcrypt_thread(account, _hash, password.encode(), settings.BCRYPT_ROUNDS)
    return hashed.decode()


def _check(password: bytes, hashed: bytes) -> bool:
    try:
        return bcrypt.checkpw(password, hashed)
    except ValueError:
        # Over bcrypt's 72 bytes (bcrypt 5 refuses it before hashing): it cannot match any
        # stored hash. Spend the same time, so that timing says nothing.
        bcrypt.checkpw(b"", hashed)
        return False


async def prepare_dummy_hash() -> None:
    """At start-up: the hash that unknown e-mails are checked against. Built on the first such
    login instead, it would make that login slower, and tell an attacker a fresh process."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = await _in_bcrypt_thread(
            object(), _hash, secrets.token_bytes(16), settings.BCRYPT_ROUNDS
        )


async def verify_password(password: str, hashed: str | None, *, account: str) -> bool:
    """Check a password; with `hashed=None` (unknown user) check a dummy of the same cost.

    `account` names whose password it is (the canonical address, `email_key`, where the request
    names one): the bcrypt threads serve the accounts in turn, so that one account's flood of
    checks cannot hold up everyone else's."""
    if hashed is None:
        await prepare_dummy_hash()  # made at start-up already: this only covers scripts
        assert _dummy_hash is not None
        await _in_bcrypt_thread(account, _check, password.encode(), _dummy_hash)
        return False
    return await _in_bcrypt_thread(account, _check, password.encode(), hashed.encode())


@dataclass(frozen=True)
class TokenClaims:
    """Who an access token speaks for: a user, in one of their sessions (a logged-in device).
    Whether the session still lives is for the database to say (it is deleted when it ends)."""

    user_id: int
    session_id: int


def create_access_token(user_id: int, session_id: int) -> str:
    now = datetime.now(UTC)
    expires = now + timedelta(minutes=settings.ACCESS_TOKEN_EXPIRE_MINUTES)
    payload = {
        "sub": str(user_id),
        "sid": session_id,
        "iat": int(now.timestamp()),
        "exp": int(expires.timestamp()),
    }
    return jwt.encode(payload, settings.SECRET_KEY, algorithm=ALGORITHM)


def _database_id(value: str | int) -> int:
    number = int(value)
    if not 1 <= number <= 2**31 - 1:
        raise ValueError("id out of range")
    return number


@lru_cache(maxsize=4096)
def _verified_claims(token: str) -> tuple[TokenClaims, float]:
    """The claims and expiry of a genuine token; raises for anything else (never cached).

    A client sends the same token with every request: its signature and claims are checked
    once, not on every request (about 0.08 ms each). The expiry is checked on every use."""
    payload = jwt.decode(
        token,
        settings.SECRET_KEY,
        algorithms=[ALGORITHM],
        options={"require": ["sub", "sid", "iat", "exp"]},
    )
    if isinstance(payload["sid"], bool):
        raise ValueError("sid is not a session id")
    claims = TokenClaims(
        user_id=_database_id(payload["sub"]), session_id=_database_id(payload["sid"])
    )
    return claims, float(payload["exp"])


def decode_access_token(token: str) -> TokenClaims | None:
    """The token's claims, or None if it is malformed, forged, expired or not HS256."""
    try:
        claims, expires_at = _verified_claims(token)
    except (jwt.InvalidTokenError, TypeError, ValueError):
        return None
    return claims if time.time() < expires_at else None


def new_opaque_token() -> str:
    """A refresh or password-reset token: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """What is stored of an opaque token: its SHA-256, so a copy of the database lets nobody in.
    Looked up by this digest: equality on a hash that the client cannot choose leaks nothing
    through timing (OWASP's advice for high-entropy tokens), and bcrypt would be pointless."""
    return hashlib.sha256(token.encode()).hexdigest()
