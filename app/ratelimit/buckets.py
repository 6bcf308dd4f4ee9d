"""Token buckets (GCRA: one number per bucket, the time at which it would be full again), and
the in-memory store of them: exact for one worker, each worker counting on its own."""

import hashlib
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Protocol

from app.core.config import Rate

# Float sums of N intervals may land a hair past the period: the Nth token is still free.
_EPSILON = 1e-6
# Per process and backend: an attacker cycling addresses or emails evicts the least recently
# used buckets instead of growing memory (about 150 bytes a bucket).
MAX_MEMORY_BUCKETS = 100_000


@dataclass(frozen=True)
class Limit:
    name: str  # part of the bucket keys: "login-address", "login-account", ...
    rate: Rate


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
