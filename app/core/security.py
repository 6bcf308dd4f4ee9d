"""Password hashing (bcrypt, off the event loop) and access tokens (JWT, HS256 only)."""

import asyncio
import os
import secrets
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, TypeVar

import bcrypt
import jwt

from app.core.config import settings

ALGORITHM = "HS256"
T = TypeVar("T")

# bcrypt is CPU-bound and releases the GIL. It runs on threads of its own, one fewer than the
# cores (the event loop keeps one), at a lower CPU priority: a burst of logins queues up and
# takes the CPU that the other requests leave, instead of stalling them.
BCRYPT_NICENESS = 5
_dummy_hash: bytes | None = None


def _lower_priority() -> None:
    with suppress(OSError):  # where it is not allowed, bcrypt runs at normal priority
        os.nice(BCRYPT_NICENESS)  # Linux: this thread only


_bcrypt_threads = ThreadPoolExecutor(
    max_workers=max(1, (os.cpu_count() or 1) - 1),
    thread_name_prefix="bcrypt",
    initializer=_lower_priority,
)


async def _in_bcrypt_thread(function: Callable[..., T], *args: Any) -> T:
    # A request that goes away while its hash still waits in the queue cancels it.
    return await asyncio.get_running_loop().run_in_executor(_bcrypt_threads, function, *args)


def _hash(password: bytes, rounds: int) -> bytes:
    return bcrypt.hashpw(password, bcrypt.gensalt(rounds))


async def hash_password(password: str) -> str:
    # Callers validate the 72-byte limit first (422); bcrypt 5 raises past it.
    hashed = await _in_bcrypt_thread(_hash, password.encode(), settings.BCRYPT_ROUNDS)
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
            _hash, secrets.token_bytes(16), settings.BCRYPT_ROUNDS
        )


async def verify_password(password: str, hashed: str | None) -> bool:
    """Check a password; with `hashed=None` (unknown user) check a dummy of the same cost."""
    if hashed is None:
        await prepare_dummy_hash()  # made at start-up already: this only covers scripts
        assert _dummy_hash is not None
        await _in_bcrypt_thread(_check, password.encode(), _dummy_hash)
        return False
    return await _in_bcrypt_thread(_check, password.encode(), hashed.encode())


@dataclass(frozen=True)
class TokenClaims:
    user_id: int
    issued_at: float  # seconds since the epoch, with microseconds

    def still_valid(self, tokens_valid_after: datetime | None) -> bool:
        """False for a deleted user (None), or a token issued before the user's last password
        change or logout-all."""
        return tokens_valid_after is not None and self.issued_at >= tokens_valid_after.timestamp()


def create_access_token(user_id: int, now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    expires = now + timedelta(minutes=settings.ACCESS_TOKEN_EXPIRE_MINUTES)
    # `iat` keeps its microseconds (RFC 7519 allows fractional NumericDates), so a login
    # right after a password change is told apart from one just before it.
    payload = {"sub": str(user_id), "iat": now.timestamp(), "exp": expires.timestamp()}
    return jwt.encode(payload, settings.SECRET_KEY, algorithm=ALGORITHM)


@lru_cache(maxsize=4096)
def _verified_claims(token: str) -> tuple[TokenClaims, float]:
    """The claims and expiry of a genuine token; raises for anything else (never cached).

    A client sends the same token with every request: its signature and claims are checked
    once, not on every request (about 0.08 ms each). The expiry is checked on every use."""
    payload = jwt.decode(
        token,
        settings.SECRET_KEY,
        algorithms=[ALGORITHM],
        options={"require": ["sub", "iat", "exp"]},
    )
    user_id = int(payload["sub"])
    if not 1 <= user_id <= 2**31 - 1:
        raise ValueError("user id out of range")
    return TokenClaims(user_id=user_id, issued_at=float(payload["iat"])), float(payload["exp"])


def decode_access_token(token: str) -> TokenClaims | None:
    """The token's claims, or None if it is malformed, forged, expired or not HS256."""
    try:
        claims, expires_at = _verified_claims(token)
    except (jwt.InvalidTokenError, TypeError, ValueError):
        return None
    return claims if time.time() < expires_at else None
