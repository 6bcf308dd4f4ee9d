"""Rate-limit buckets in Redis, shared by every worker and instance that uses the same Redis.

One Lua script does the whole take or give-back atomically, on Redis's own clock (instances'
clocks may differ). When Redis does not answer, the limits fall back to this process's memory:
each worker then counts on its own, which is looser but still limits, and never a 500. A
warning is logged at most once a minute, and Redis is tried again after a short cool-down
rather than paying a timeout on every request.
"""

import logging
import time
from typing import TYPE_CHECKING

import anyio
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from app.ratelimit.buckets import Limit, MemoryBuckets, bucket_id

if TYPE_CHECKING:
    from redis.commands.core import AsyncScript

logger = logging.getLogger("app.ratelimit")

SOCKET_TIMEOUT = 0.25  # seconds: a dead or stuck Redis must not hold a login up
COOL_DOWN = 5.0  # seconds of local limits after a failure, before Redis is tried again
WARN_EVERY = 60.0  # seconds between two "Redis unavailable" warnings

# KEYS[1]: the bucket. ARGV: "take" or "give", then the token interval and the period, in
# microseconds. The value is when the bucket is full again (Redis TIME, microseconds); it
# expires then, since a full bucket is the same as none. Returns the microseconds to wait
# (0: a token was taken or given back).
_SCRIPT = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local interval = tonumber(ARGV[2])
local period = tonumber(ARGV[3])
local full_at = tonumber(redis.call('GET', KEYS[1]) or now)
if full_at < now then full_at = now end
if ARGV[1] == 'take' then
  full_at = full_at + interval
  if full_at - now > period + 1 then
    return math.ceil(full_at - now - period)
  end
else
  full_at = full_at - interval
  if full_at <= now then
    redis.call('DEL', KEYS[1])
    return 0
  end
end
local ttl_ms = math.ceil((full_at - now) / 1000) + 1
redis.call('SET', KEYS[1], string.format('%.0f', full_at), 'PX', ttl_ms)
return 0
"""


class RedisBuckets:
    def __init__(self, client: Redis, prefix: str, cool_down: float = COOL_DOWN) -> None:
        self.client = client
        self.prefix = prefix
        self.cool_down = cool_down
        self.fallback = MemoryBuckets()
        self._script: AsyncScript = client.register_script(_SCRIPT)
        self._down_until = 0.0  # time.monotonic(): use the fallback until then
        self._warned_at = -WARN_EVERY

    @classmethod
    def from_url(cls, url: str, prefix: str, cool_down: float = COOL_DOWN) -> "RedisBuckets":
        client = Redis.from_url(
            url,
            socket_timeout=SOCKET_TIMEOUT,
            socket_connect_timeout=SOCKET_TIMEOUT,
            retry=Retry(NoBackoff(), 0),  # the default retries with backoff would take seconds
        )
        return cls(client, prefix, cool_down)

    @property
    def redis_in_use(self) -> bool:
        return time.monotonic() >= self._down_until

    async def _run(self, operation: str, limit: Limit, key: str) -> float | None:
        """The script's answer in seconds, or None when Redis is unavailable."""
        if not self.redis_in_use:
            return None
        interval_us = limit.rate.interval * 1_000_000  # a float: N of them make the period
        period_us = round(limit.rate.period * 1_000_000)
        try:
            # The socket timeouts bound each read; this bounds the whole call.
            with anyio.fail_after(4 * SOCKET_TIMEOUT):
                wait_us = await self._script(
                    keys=[self.prefix + bucket_id(limit, key)],
                    args=[operation, interval_us, period_us],
                )
        except (RedisError, OSError, TimeoutError) as error:
            self._went_down(error)
            return None
        return int(wait_us) / 1_000_000

    def _went_down(self, error: Exception) -> None:
        now = time.monotonic()
        self._down_until = now + self.cool_down
        if now - self._warned_at >= WARN_EVERY:
            self._warned_at = now
            logger.warning(
                "Redis unavailable for rate limits (%s: %s): counting in this process only, "
                "retrying Redis every %.0f s",
                type(error).__name__,
                error,
                self.cool_down,
            )

    async def take(self, limit: Limit, key: str) -> float:
        wait = await self._run("take", limit, key)
        return self.fallback.take_now(limit, key) if wait is None else wait

    async def give_back(self, limit: Limit, key: str) -> None:
        # A token taken from one backend may come back to the other around an outage: at
        # worst one token too many for an account that just logged in successfully.
        if await self._run("give", limit, key) is None:
            self.fallback.give_back_now(limit, key)

    async def aclose(self) -> None:
        await self.client.aclose()
