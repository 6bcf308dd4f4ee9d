"""Rate limits on logging in and registering: token buckets, checked before any bcrypt work.

A limit "N/minute" is a bucket of N tokens refilled at N per minute (GCRA: one number per
bucket, the time at which it would be full again). Counted in this process by default, or in
Redis (app.ratelimit_redis) when REDIS_URL is set, so that workers and instances share them.
"""

import hashlib
import math
import re
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Protocol

from fastapi import Depends, Request

from app.errors import ServiceError

if TYPE_CHECKING:
    from app.config import Settings

_PERIODS = {"second": 1, "minute": 60, "hour": 3600}
_RATE = re.compile(r"([1-9][0-9]{0,8})/(second|minute|hour)")
# Float sums of N intervals may land a hair past the period: the Nth token is still free.
_EPSILON = 1e-6
# Per process and backend: an attacker cycling addresses or emails evicts the least recently
# used buckets instead of growing memory (about 150 bytes a bucket).
MAX_MEMORY_BUCKETS = 100_000


@dataclass(frozen=True)
class Rate:
    """`limit` requests at once, refilled at `limit` per `period` seconds."""

    limit: int
    period: float

    @classmethod
    def parse(cls, text: str) -> "Rate":
        match = _RATE.fullmatch(text.strip())
        if match is None:
            raise ValueError(f"{text!r} is not a rate like '10/minute' (N/second|minute|hour)")
        return cls(limit=int(match[1]), period=_PERIODS[match[2]])

    @property
    def interval(self) -> float:
        """Seconds for one token to come back."""
        return self.period / self.limit

    def __str__(self) -> str:
        unit = {seconds: name for name, seconds in _PERIODS.items()}[int(self.period)]
        return f"{self.limit}/{unit}"


@dataclass(frozen=True)
class Limit:
    name: str  # part of the bucket keys: "login-address", "login-account", ...
    rate: Rate


class RateLimited(ServiceError):
    status_code = 429
    detail = "Too many requests, retry later"

    def __init__(self, retry_after: float) -> None:
        super().__init__()
        # Whole seconds (RFC 9110), rounded up: retrying earlier would be refused again.
        self.headers = {"Retry-After": str(max(1, math.ceil(retry_after)))}


class Buckets(Protocol):
    async def take(self, limit: Limit, key: str) -> float:
        """Take a token: 0 if there was one, else the seconds until there is."""
        ...

    async def give_back(self, limit: Limit, key: str) -> None:
        """Return a token taken earlier (never beyond a full bucket)."""
        ...

    async def aclose(self) -> None: ...


def bucket_id(limit: Limit, key: str) -> str:
    """A short, fixed-size id: raw emails are neither kept in memory nor sent to Redis."""
    return f"{limit.name}:{hashlib.blake2b(key.encode(), digest_size=16).hexdigest()}"


class MemoryBuckets:
    """Buckets in this process: exact for one worker; each worker counts on its own."""

    def __init__(self, max_buckets: int = MAX_MEMORY_BUCKETS) -> None:
        self.max_buckets = max_buckets
        # bucket id -> when it is full again (time.monotonic()), least recently used first.
        self._full_at: OrderedDict[str, float] = OrderedDict()

    def __len__(self) -> int:
        return len(self._full_at)

    def take_now(self, limit: Limit, key: str) -> float:
        now = time.monotonic()
        bucket = bucket_id(limit, key)
        full_at = max(self._full_at.get(bucket, now), now) + limit.rate.interval
        if full_at - now > limit.rate.period + _EPSILON:
            return full_at - now - limit.rate.period
        self._full_at[bucket] = full_at
        self._full_at.move_to_end(bucket)
        self._evict(now)
        return 0.0

    def give_back_now(self, limit: Limit, key: str) -> None:
        bucket = bucket_id(limit, key)
        full_at = self._full_at.get(bucket)
        if full_at is None:
            return
        full_at -= limit.rate.interval
        if full_at <= time.monotonic():
            del self._full_at[bucket]  # full again: the same as no bucket
        else:
            self._full_at[bucket] = full_at

    def _evict(self, now: float) -> None:
        # Full buckets carry no information; past the cap, the least recently used goes.
        while self._full_at:
            bucket, full_at = next(iter(self._full_at.items()))
            if full_at > now and len(self._full_at) <= self.max_buckets:
                break
            del self._full_at[bucket]

    async def take(self, limit: Limit, key: str) -> float:
        return self.take_now(limit, key)

    async def give_back(self, limit: Limit, key: str) -> None:
        self.give_back_now(limit, key)

    async def aclose(self) -> None:
        pass


class RateLimits:
    """The limits of POST /login and POST /users, over one backend; `None` turns them off."""

    def __init__(
        self,
        buckets: Buckets | None,
        login_per_address: Rate,
        login_per_account: Rate,
        register_per_address: Rate,
    ) -> None:
        self.buckets = buckets
        self.login_address = Limit("login-address", login_per_address)
        self.login_account = Limit("login-account", login_per_account)
        self.register_address = Limit("register-address", register_per_address)

    async def _take(self, limit: Limit, key: str) -> None:
        if self.buckets is None:
            return
        wait = await self.buckets.take(limit, key)
        if wait > 0:
            raise RateLimited(wait)

    async def check_login_address(self, address: str) -> None:
        await self._take(self.login_address, address)

    async def check_register_address(self, address: str) -> None:
        await self._take(self.register_address, address)

    async def take_login_attempt(self, email: str) -> None:
        """Before bcrypt: a failed login keeps the token; `login_succeeded` gives it back.
        Taking first means concurrent wrong guesses can never outnumber the bucket."""
        await self._take(self.login_account, _account_key(email))

    async def login_succeeded(self, email: str) -> None:
        if self.buckets is not None:
            await self.buckets.give_back(self.login_account, _account_key(email))

    async def aclose(self) -> None:
        if self.buckets is not None:
            await self.buckets.aclose()


def _account_key(email: str) -> str:
    # Unknown emails are limited exactly like accounts: the answers say nothing about which exist.
    return email.strip().lower()


def rate_limits_from(settings: "Settings") -> RateLimits:
    buckets: Buckets | None = None
    if settings.RATE_LIMIT_ENABLED:
        if settings.REDIS_URL:
            from app.ratelimit_redis import RedisBuckets

            buckets = RedisBuckets.from_url(settings.REDIS_URL, settings.RATE_LIMIT_REDIS_PREFIX)
        else:
            buckets = MemoryBuckets()
    return RateLimits(
        buckets,
        login_per_address=settings.RATE_LIMIT_LOGIN_PER_ADDRESS,
        login_per_account=settings.RATE_LIMIT_LOGIN_PER_ACCOUNT,
        register_per_address=settings.RATE_LIMIT_REGISTER_PER_ADDRESS,
    )


def client_address(request: Request) -> str:
    """The peer as uvicorn reports it: the proxy's X-Forwarded-For only from trusted proxies
    (FORWARDED_ALLOW_IPS, see app.serve)."""
    return request.client.host if request.client else "unknown"


def rate_limits(request: Request) -> RateLimits:
    limits: RateLimits = request.app.state.rate_limits
    return limits


async def _login_address_limit(request: Request) -> RateLimits:
    limits = rate_limits(request)
    await limits.check_login_address(client_address(request))
    return limits


async def limit_registration(request: Request) -> None:
    await rate_limits(request).check_register_address(client_address(request))


# For POST /login: the address is charged when the route starts (before the form is even
# validated); the route then takes the account's token itself, before bcrypt.
LoginLimits = Annotated[RateLimits, Depends(_login_address_limit)]
