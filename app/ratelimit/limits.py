"""The rate limits of the API (logins, registrations, refreshes, password resets, password
checks, comments): which bucket each request takes a token from, checked before any bcrypt
work or e-mail. A limit "N/minute" is a bucket of N tokens refilled at N per minute. Counted
in this process by default, or in Redis (redis_buckets.py) when REDIS_URL is set, so that
workers and instances share them.
"""

import math
from dataclasses import dataclass

from app.core.config import Rate, Settings
from app.core.errors import ServiceError
from app.ratelimit.buckets import Buckets, Limit, MemoryBuckets


class RateLimited(ServiceError):
    status_code = 429
    detail = "Too many requests, retry later"

    def __init__(self, retry_after: float) -> None:
        # Whole seconds (RFC 9110), rounded up: retrying earlier would be refused again.
        super().__init__(headers={"Retry-After": str(max(1, math.ceil(retry_after)))})


class RateLimits:
    """The API's limits (docs/operations.md, "Rate limits"), over one backend; `None` turns them
    off."""

    def __init__(
        self,
        buckets: Buckets | None,
        login_per_address: Rate,
        login_per_account: Rate,
        register_per_address: Rate,
        refresh_per_address: Rate,
        reset_per_address: Rate,
        reset_per_account: Rate,
        comment_per_account: Rate,
        password_check_per_account: Rate,
        password_check_per_address: Rate,
    ) -> None:
        self.buckets = buckets
        self.login_address = Limit("login-address", login_per_address)
        # Failed logins per account: a login takes a token before bcrypt (so concurrent wrong
        # guesses can never outnumber the bucket) and a successful one gives it back.
        self.login_account = Limit("login-account", login_per_account)
        self.register_address = Limit("register-address", register_per_address)
        self.refresh_address = Limit("refresh-address", refresh_per_address)
        # Both password-reset endpoints, per address; reset e-mails, per account.
        self.reset_address = Limit("reset-address", reset_per_address)
        self.reset_account = Limit("reset-account", reset_per_account)
        self.comment_account = Limit("comment-account", comment_per_account)
        # Wrong current passwords (PATCH /users/me), per account and per address: see
        # `password_checks`.
        self.password_check_account = Limit("password-check-account", password_check_per_account)
        self.password_check_address = Limit("password-check-address", password_check_per_address)

    async def take(self, limit: Limit, key: str) -> None:
        """A token from `key`'s bucket, or 429. Per account, `key` is the address's canonical
        form (app.models.email_key): unknown addresses are limited exactly like accounts, so
        the answers say nothing about which exist."""
        if self.buckets is None:
            return
        wait = await self.buckets.take(limit, key)
        if wait > 0:
            raise RateLimited(wait)

    async def give_back(self, limit: Limit, key: str) -> None:
        if self.buckets is not None:
            await self.buckets.give_back(limit, key)

    def password_checks(self, account: str, address: str) -> "PasswordChecks":
        return PasswordChecks(self, account, address)

    async def aclose(self) -> None:
        if self.buckets is not None:
            await self.buckets.aclose()


@dataclass(frozen=True)
class PasswordChecks:
    """The limits on one check of an account's current password (bcrypt), as on logins: a
    token per account and one per client address taken before the check (429 while either
    bucket is empty, even for the right password), both given back when the password was
    right, so that only failures count."""

    limits: RateLimits
    account: str  # the account's id
    address: str

    async def take(self) -> None:
        limits = self.limits
        await limits.take(limits.password_check_account, self.account)
        try:
            await limits.take(limits.password_check_address, self.address)
        except RateLimited:  # no check runs: the account's token goes back
            await limits.give_back(limits.password_check_account, self.account)
            raise

    async def give_back(self) -> None:
        await self.limits.give_back(self.limits.password_check_account, self.account)
        await self.limits.give_back(self.limits.password_check_address, self.address)


def rate_limits_from(settings: Settings) -> RateLimits:
    buckets: Buckets | None = None
    if settings.RATE_LIMIT_ENABLED:
        if settings.REDIS_URL:
            # Imported only when used: the Redis client weighs 8 MB per worker process.
            from app.ratelimit.redis_buckets import RedisBuckets

            buckets = RedisBuckets.from_url(settings.REDIS_URL, settings.RATE_LIMIT_REDIS_PREFIX)
        else:
            buckets = MemoryBuckets()
    return RateLimits(
        buckets,
        login_per_address=settings.RATE_LIMIT_LOGIN_PER_ADDRESS,
        login_per_account=settings.RATE_LIMIT_LOGIN_PER_ACCOUNT,
        register_per_address=settings.RATE_LIMIT_REGISTER_PER_ADDRESS,
        refresh_per_address=settings.RATE_LIMIT_REFRESH_PER_ADDRESS,
        reset_per_address=settings.RATE_LIMIT_RESET_PER_ADDRESS,
        reset_per_account=settings.RATE_LIMIT_RESET_PER_ACCOUNT,
        comment_per_account=settings.RATE_LIMIT_COMMENT_PER_ACCOUNT,
        password_check_per_account=settings.RATE_LIMIT_PASSWORD_CHECK_PER_ACCOUNT,
        password_check_per_address=settings.RATE_LIMIT_PASSWORD_CHECK_PER_ADDRESS,
    )
