"""Rate limits on POST /login (per address and per account), POST /users (per address) and the
password checks of PATCH /users/me (per account and per address).

Past a limit: 429 `{"detail"}` with `Retry-After`, before any bcrypt work (counted through
wrappers that still call the real bcrypt). Each behaviour runs on both backends, this process's
memory and Redis (127.0.0.1:6379, or TEST_REDIS_URL; keys under a prefix unique to the test,
deleted afterwards). The suite turns limits off (conftest); these tests put their own in place.
"""

import asyncio
import logging
import os
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import bcrypt
import httpx
import pytest
import redis
from httpx import ASGITransport, AsyncClient, Response
from pydantic import ValidationError
from redis.asyncio import Redis
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from app.cli.serve import server_options
from app.core.config import Rate, Settings
from app.main import app, create_app
from app.ratelimit.buckets import Buckets, MemoryBuckets
from app.ratelimit.limits import RateLimits, rate_limits_from
from app.ratelimit.redis_buckets import RedisBuckets
from tests.conftest import BASE_URL, TEST_DB
from tests.factories import DEFAULT_PASSWORD, create_post, create_user, new_account, unique_email
from tests.live_server import SERVE, free_port, running

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
TOO_MANY = {"detail": "Too many requests, retry later"}
PLENTY = "1000/minute"


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in {"", "0", "false", "no"}


@pytest.fixture(scope="session")
def redis_url() -> str:
    """Redis for the shared backend, or a skip on a machine without it (a failure in CI)."""
    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=1, socket_connect_timeout=1).ping()
    except redis.RedisError as error:
        if _in_ci():
            pytest.fail(f"Redis at {REDIS_URL} does not answer ({error}); CI is set")
        pytest.skip(f"Redis at {REDIS_URL} does not answer ({error})")
    return REDIS_URL


@pytest.fixture
async def redis_prefix(redis_url: str) -> AsyncIterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards."""
    prefix = f"test-ratelimit:{uuid.uuid4().hex}:"
    yield prefix
    cleaner = Redis.from_url(redis_url)
    try:
        keys = [key async for key in cleaner.scan_iter(match=prefix + "*")]
        if keys:
            await cleaner.delete(*keys)
    finally:
        await cleaner.aclose()


@pytest.fixture
async def new_redis_buckets(
    redis_url: str, redis_prefix: str
) -> AsyncIterator[Callable[[], RedisBuckets]]:
    """Makes RedisBuckets on this test's prefix, each with its own client (an "instance")."""
    made: list[RedisBuckets] = []

    def make() -> RedisBuckets:
        made.append(RedisBuckets.from_url(redis_url, redis_prefix))
        return made[-1]

    yield make
    for buckets in made:
        await buckets.aclose()


@pytest.fixture(params=["memory", "redis"])
def new_buckets(request: pytest.FixtureRequest) -> Callable[[], Buckets]:
    if request.param == "memory":
        return MemoryBuckets
    return request.getfixturevalue("new_redis_buckets")  # type: ignore[no-any-return]


def limits(
    buckets: Buckets | None,
    *,
    login_address: str = PLENTY,
    login_account: str = PLENTY,
    register_address: str = PLENTY,
    refresh_address: str = PLENTY,
    reset_address: str = PLENTY,
    reset_account: str = PLENTY,
    comment_account: str = PLENTY,
    password_check_account: str = PLENTY,
    password_check_address: str = PLENTY,
) -> RateLimits:
    return RateLimits(
        buckets,
        login_per_address=Rate.parse(login_address),
        login_per_account=Rate.parse(login_account),
        register_per_address=Rate.parse(register_address),
        refresh_per_address=Rate.parse(refresh_address),
        reset_per_address=Rate.parse(reset_address),
        reset_per_account=Rate.parse(reset_account),
        comment_per_account=Rate.parse(comment_account),
        password_check_per_account=Rate.parse(password_check_account),
        password_check_per_address=Rate.parse(password_check_address),
    )


@contextmanager
def limited(rate_limits: RateLimits, target: Any = app) -> Iterator[RateLimits]:
    """The app answers with these limits for the duration (the suite runs without any)."""
    previous = target.state.rate_limits
    target.state.rate_limits = rate_limits
    try:
        yield rate_limits
    finally:
        target.state.rate_limits = previous


def client_at(address: str, target: Any = app) -> AsyncClient:
    """A client whose requests come from `address` (as uvicorn would report the peer)."""
    transport = ASGITransport(app=target, client=(address, 40000))
    return AsyncClient(transport=transport, base_url=BASE_URL)


class BcryptCalls:
    """Counts calls into the real bcrypt (hashpw and checkpw), which still do their work."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        for name in ("hashpw", "checkpw"):
            monkeypatch.setattr(bcrypt, name, self._counting(getattr(bcrypt, name)))

    def _counting(self, real: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any) -> Any:
            self.count += 1  # bcrypt threads: += under the GIL is enough for a test tally
            return real(*args)

        return call


@pytest.fixture
def bcrypt_calls(monkeypatch: pytest.MonkeyPatch) -> BcryptCalls:
    return BcryptCalls(monkeypatch)


async def try_login(client: AsyncClient, email: str, password: str = "wrong password") -> Response:
    return await client.post("/login", data={"username": email, "password": password})


def assert_too_many(response: Response, longest_wait: float) -> int:
    """429 `{"detail"}` with a Retry-After in whole seconds, 1..longest_wait; returns it."""
    assert response.status_code == 429, response.text
    assert response.json() == TOO_MANY
    retry_after = int(response.headers["retry-after"])
    assert 1 <= retry_after <= longest_wait
    return retry_after


# --- per address ------------------------------------------------------------------------------


async def test_login_per_address_answers_429_before_bcrypt(
    client: AsyncClient, new_buckets: Callable[[], Buckets], bcrypt_calls: BcryptCalls
) -> None:
    with limited(limits(new_buckets(), login_address="3/minute")):
        async with client_at("10.0.0.1") as first, client_at("10.0.0.2") as second:
            for _ in range(3):  # a different email each time: only the address counts
                assert (await try_login(first, unique_email())).status_code == 401
            hashed_so_far = bcrypt_calls.count
            assert_too_many(await try_login(first, unique_email()), longest_wait=20)
            assert_too_many(await try_login(first, unique_email()), longest_wait=20)
            assert bcrypt_calls.count == hashed_so_far
            assert (await try_login(second, unique_email())).status_code == 401


async def test_register_per_address_answers_429_before_bcrypt(
    client: AsyncClient, new_buckets: Callable[[], Buckets], bcrypt_calls: BcryptCalls
) -> None:
    with limited(limits(new_buckets(), register_address="2/minute")):
        async with client_at("10.0.0.1") as first, client_at("10.0.0.2") as second:
            await create_user(first)
            await create_user(first)
            hashed_so_far = bcrypt_calls.count
            body = {"email": unique_email(), "password": DEFAULT_PASSWORD}
            assert_too_many(await first.post("/users", json=body), longest_wait=30)
            assert bcrypt_calls.count == hashed_so_far
            await create_user(second)


async def test_retry_after_says_when_a_token_is_back(
    client: AsyncClient, new_buckets: Callable[[], Buckets]
) -> None:
    with limited(limits(new_buckets(), login_address="1/hour")):
        assert (await try_login(client, unique_email())).status_code == 401
        retry_after = assert_too_many(await try_login(client, unique_email()), 3600)
        assert retry_after > 3500  # an hour, less the time the test took


# --- per account ------------------------------------------------------------------------------


@pytest.mark.parametrize("registered", [True, False], ids=["account", "unknown-email"])
async def test_wrong_passwords_lock_the_account_even_for_the_right_password(
    client: AsyncClient,
    new_buckets: Callable[[], Buckets],
    bcrypt_calls: BcryptCalls,
    registered: bool,
) -> None:
    email = (await create_user(client))["email"] if registered else unique_email()
    with limited(limits(new_buckets(), login_account="3/minute")):
        for _ in range(3):
            assert (await try_login(client, email)).status_code == 401
        hashed_so_far = bcrypt_calls.count
        assert_too_many(await try_login(client, email, DEFAULT_PASSWORD), longest_wait=20)
        assert_too_many(await try_login(client, email.upper()), longest_wait=20)
        assert bcrypt_calls.count == hashed_so_far
        # Another account from the same address is not affected.
        other = await create_user(client)
        response = await try_login(client, other["email"], other["password"])
        assert response.status_code == 200, response.text


async def test_every_spelling_of_an_address_shares_its_accounts_bucket(
    client: AsyncClient, new_buckets: Callable[[], Buckets]
) -> None:
    user = await create_user(client, email="victim@example.com")
    spellings = ["victim@example.com", " VICTIM@example.com", "Victim@EXAMPLE.com "]
    with limited(limits(new_buckets(), login_account="3/minute")):
        for spelling in spellings:
            assert (await try_login(client, spelling)).status_code == 401
        for spelling in [*spellings, "victim@example.com"]:
            assert_too_many(await try_login(client, spelling, user["password"]), longest_wait=20)
        # "İ" is another letter than "i": another address, with no account, not this one's.
        dotted = "v\u0130ctim@example.com"
        assert (await try_login(client, dotted, user["password"])).status_code == 401


async def test_successful_logins_give_their_token_back(
    client: AsyncClient, new_buckets: Callable[[], Buckets]
) -> None:
    user = await create_user(client)
    with limited(limits(new_buckets(), login_account="3/minute")):
        for _ in range(10):
            assert (await try_login(client, user["email"], user["password"])).status_code == 200
        statuses = []
        for password in ["wrong", "wrong", user["password"], "wrong", user["password"]]:
            statuses.append((await try_login(client, user["email"], password)).status_code)
        # Two failures leave 1 token; the success takes and returns it; the third failure
        # takes it; then the right password is refused until a token comes back.
        assert statuses == [401, 401, 200, 401, 429]


async def test_concurrent_wrong_guesses_never_outnumber_the_bucket(
    client: AsyncClient, new_buckets: Callable[[], Buckets], bcrypt_calls: BcryptCalls
) -> None:
    user = await create_user(client)
    before = bcrypt_calls.count
    with limited(limits(new_buckets(), login_account="3/minute")):
        responses = await asyncio.gather(*(try_login(client, user["email"]) for _ in range(12)))
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [401] * 3 + [429] * 9
    assert bcrypt_calls.count - before == 3


# --- password checks (PATCH /users/me) ----------------------------------------------------------


async def change_email(client: AsyncClient, user: dict[str, Any], current_password: str) -> int:
    """An e-mail change (it checks the current password with bcrypt); its status."""
    body = {"email": unique_email("moved"), "current_password": current_password}
    response = await client.patch("/users/me", json=body, headers=user["headers"])
    return response.status_code


async def test_wrong_current_passwords_lock_the_change_even_for_the_right_one(
    client: AsyncClient, new_buckets: Callable[[], Buckets], bcrypt_calls: BcryptCalls
) -> None:
    """Per account, as logins: each wrong current password is a bcrypt check, and past the
    limit the answer is 429 before bcrypt runs, even for the right one."""
    user = await new_account(client)
    other = await new_account(client)
    with limited(limits(new_buckets(), password_check_account="3/minute")):
        for _ in range(3):
            assert await change_email(client, user, "wrong password") == 403
        hashed_so_far = bcrypt_calls.count
        body = {"email": unique_email(), "current_password": DEFAULT_PASSWORD}
        response = await client.patch("/users/me", json=body, headers=user["headers"])
        assert_too_many(response, longest_wait=20)
        password = {"password": "a new password", "current_password": DEFAULT_PASSWORD}
        response = await client.patch("/users/me", json=password, headers=user["headers"])
        assert_too_many(response, longest_wait=20)
        assert bcrypt_calls.count == hashed_so_far
        # No password check, no limit: the name still changes.
        renamed = await client.patch(
            "/users/me", json={"name": "Still me"}, headers=user["headers"]
        )
        assert renamed.status_code == 200, renamed.text
        # Another account from the same address is not affected.
        assert await change_email(client, other, DEFAULT_PASSWORD) == 200


async def test_wrong_current_passwords_are_limited_per_address(
    client: AsyncClient, new_buckets: Callable[[], Buckets], bcrypt_calls: BcryptCalls
) -> None:
    """Many accounts from one address (each under its own limit) cannot run bcrypt without
    bound either."""
    with limited(limits(new_buckets(), password_check_address="3/minute")):
        async with client_at("10.0.0.1") as first, client_at("10.0.0.2") as second:
            accounts = [await new_account(first) for _ in range(5)]
            for user in accounts[:3]:  # a different account each time: only the address counts
                assert await change_email(first, user, "wrong password") == 403
            hashed_so_far = bcrypt_calls.count
            body = {"email": unique_email(), "current_password": DEFAULT_PASSWORD}
            response = await first.patch("/users/me", json=body, headers=accounts[3]["headers"])
            assert_too_many(response, longest_wait=20)
            assert bcrypt_calls.count == hashed_so_far
            assert await change_email(second, accounts[4], "wrong password") == 403


async def test_right_current_passwords_give_their_tokens_back(
    client: AsyncClient, new_buckets: Callable[[], Buckets]
) -> None:
    user = await new_account(client)
    rates = {"password_check_account": "3/minute", "password_check_address": "3/minute"}
    with limited(limits(new_buckets(), **rates)):
        for _ in range(10):
            assert await change_email(client, user, DEFAULT_PASSWORD) == 200
        statuses = []
        for password in ["wrong", "wrong", DEFAULT_PASSWORD, "wrong", DEFAULT_PASSWORD]:
            statuses.append(await change_email(client, user, password))
        # As for logins: two failures leave one token; the success takes and returns it; the
        # third failure takes it; then the right password is refused until a token comes back.
        assert statuses == [403, 403, 200, 403, 429]


async def test_concurrent_wrong_current_passwords_never_outnumber_the_bucket(
    client: AsyncClient, new_buckets: Callable[[], Buckets], bcrypt_calls: BcryptCalls
) -> None:
    user = await new_account(client)
    before = bcrypt_calls.count
    with limited(limits(new_buckets(), password_check_account="3/minute")):
        statuses = await asyncio.gather(
            *(change_email(client, user, "wrong password") for _ in range(12))
        )
    assert sorted(statuses) == [403] * 3 + [429] * 9
    assert bcrypt_calls.count - before == 3


# --- instances, workers, outages ----------------------------------------------------------------


async def test_two_instances_count_together_through_redis(
    client: AsyncClient, new_redis_buckets: Callable[[], RedisBuckets]
) -> None:
    """Two apps, each with its own limiter and Redis client: one count. (In memory, each would
    allow the whole burst.)"""
    email = unique_email()
    apps = [app, create_app()]
    rates = {"login_account": "4/minute"}
    with (
        limited(limits(new_redis_buckets(), **rates)),
        limited(limits(new_redis_buckets(), **rates), target=apps[1]),
    ):
        async with client_at("10.0.0.1", apps[0]) as one, client_at("10.0.0.1", apps[1]) as two:
            statuses = [(await try_login(c, email)).status_code for c in [one, two] * 3]
    assert statuses == [401, 401, 401, 401, 429, 429]


async def test_redis_keys_are_prefixed_and_expire(
    client: AsyncClient, redis_url: str, redis_prefix: str
) -> None:
    email = unique_email()
    buckets = RedisBuckets.from_url(redis_url, redis_prefix)
    rates = {"login_address": "10/minute", "login_account": "10/minute"}  # 6 s a token
    with limited(limits(buckets, **rates)) as rate_limits:
        await try_login(client, email)
        await rate_limits.aclose()
    inspector = Redis.from_url(redis_url)
    try:
        keys = [key async for key in inspector.scan_iter(match=redis_prefix + "*")]
        assert sorted(key.decode().split(":")[2] for key in keys) == [
            "login-account",
            "login-address",
        ]
        assert email.encode() not in b"".join(keys)  # hashed: no emails in Redis
        for key in keys:
            assert 0 < await inspector.pttl(key) <= 6001  # gone once the bucket is full
    finally:
        await inspector.aclose()


async def test_redis_down_falls_back_to_local_limits_without_500(
    client: AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Documented choice (docs/operations.md, "Rate limits"): count in this process until Redis
    is back."""
    buckets = RedisBuckets.from_url(f"redis://127.0.0.1:{free_port()}/0", "unused:")
    user = await create_user(client)
    with (
        caplog.at_level(logging.WARNING, "app.ratelimit"),
        limited(limits(buckets, login_account="3/minute")),
    ):
        assert (await try_login(client, user["email"], user["password"])).status_code == 200
        statuses, slowest = [], 0.0
        for _ in range(5):
            started = time.perf_counter()
            statuses.append((await try_login(client, user["email"])).status_code)
            slowest = max(slowest, time.perf_counter() - started)
        await buckets.aclose()
    assert statuses == [401, 401, 401, 429, 429]
    assert slowest < 2.0  # generous: a refused connection fails at once
    warnings = [r for r in caplog.records if "Redis unavailable" in r.getMessage()]
    assert len(warnings) == 1


async def test_stuck_redis_times_out_then_is_left_alone_for_the_cool_down(
    client: AsyncClient,
) -> None:
    """A Redis that accepts connections but never answers costs one socket timeout, then none
    until the cool-down is over."""
    connections = 0

    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await reader.read()  # until the client gives up and closes
        writer.close()

    server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    stuck = RedisBuckets.from_url(f"redis://127.0.0.1:{port}/0", "unused:", cool_down=2.0)
    try:
        with limited(limits(stuck)):
            started = time.perf_counter()
            assert (await try_login(client, unique_email())).status_code == 401
            assert time.perf_counter() - started < 3.0  # one socket timeout (0.25 s), no hang
            assert connections == 1
            for _ in range(3):
                assert (await try_login(client, unique_email())).status_code == 401
            assert connections == 1  # the cool-down: Redis not tried meanwhile
            await asyncio.sleep(2.1)
            assert (await try_login(client, unique_email())).status_code == 401
            assert connections == 2  # tried again after the cool-down
    finally:
        await stuck.aclose()
        server.close()


# --- settings -----------------------------------------------------------------------------------


async def test_rate_limit_enabled_false_turns_them_off(client: AsyncClient) -> None:
    settings = Settings(
        _env_file=None,
        RATE_LIMIT_ENABLED=False,
        RATE_LIMIT_LOGIN_PER_ACCOUNT="1/hour",
        RATE_LIMIT_LOGIN_PER_ADDRESS="1/hour",
        REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
    )
    rate_limits = rate_limits_from(settings)
    assert rate_limits.buckets is None
    email = unique_email()
    with limited(rate_limits):
        statuses = {(await try_login(client, email)).status_code for _ in range(5)}
    assert statuses == {401}


# --- comments ---------------------------------------------------------------------------------


async def test_comments_past_the_accounts_limit_get_429_and_are_not_stored(
    client: AsyncClient, new_buckets: Callable[[], Buckets]
) -> None:
    author = await new_account(client)
    other = await new_account(client)
    post = await create_post(client, author["headers"])
    url = f"/posts/{post['id']}/comments"
    with limited(limits(new_buckets(), comment_account="3/minute")):
        for _ in range(3):
            response = await client.post(url, json={"body": "hi"}, headers=author["headers"])
            assert response.status_code == 201, response.text
        refused = await client.post(url, json={"body": "one more"}, headers=author["headers"])
        assert_too_many(refused, longest_wait=20)
        # Per account: another account still comments.
        assert (
            await client.post(url, json={"body": "me"}, headers=other["headers"])
        ).status_code == 201
    listed = await client.get(f"{url}?limit=100", headers=author["headers"])
    assert [comment["body"] for comment in listed.json()] == ["hi", "hi", "hi", "me"]


def test_limits_are_settings_with_the_documented_defaults() -> None:
    defaults = {name: str(field.default) for name, field in Settings.model_fields.items()}
    assert defaults["RATE_LIMIT_ENABLED"] == "True"
    assert defaults["RATE_LIMIT_LOGIN_PER_ADDRESS"] == "200/minute"
    assert defaults["RATE_LIMIT_LOGIN_PER_ACCOUNT"] == "10/minute"
    assert defaults["RATE_LIMIT_REGISTER_PER_ADDRESS"] == "100/minute"
    assert defaults["RATE_LIMIT_COMMENT_PER_ACCOUNT"] == "30/minute"
    assert defaults["RATE_LIMIT_PASSWORD_CHECK_PER_ACCOUNT"] == "10/minute"
    assert defaults["RATE_LIMIT_PASSWORD_CHECK_PER_ADDRESS"] == "20/minute"
    assert defaults["REDIS_URL"] == "None"
    assert defaults["FORWARDED_ALLOW_IPS"] == "127.0.0.1"
    built = rate_limits_from(
        Settings(_env_file=None, RATE_LIMIT_ENABLED=True, RATE_LIMIT_LOGIN_PER_ACCOUNT="5/second")
    )
    assert isinstance(built.buckets, MemoryBuckets)
    assert built.login_account.rate == Rate(limit=5, period=1)


@pytest.mark.parametrize("bad", ["10/min", "0/minute", "ten/minute", "10", "-1/hour", "10/day"])
def test_a_malformed_rate_is_a_clear_settings_error(bad: str) -> None:
    with pytest.raises(ValidationError, match="RATE_LIMIT_LOGIN_PER_ACCOUNT") as raised:
        Settings(_env_file=None, RATE_LIMIT_LOGIN_PER_ACCOUNT=bad)
    assert "is not a rate like '10/minute'" in str(raised.value)


def test_openapi_declares_429_on_the_limited_routes() -> None:
    paths = app.openapi()["paths"]
    for path in ("/login", "/users", "/posts/{post_id}/comments"):
        assert "429" in paths[path]["post"]["responses"], path
    for path, method in (("/login", "post"), ("/users", "post"), ("/users/me", "patch")):
        assert "429" in paths[path][method]["responses"], path


def test_memory_buckets_stay_bounded() -> None:
    """An attacker cycling emails or addresses evicts old buckets instead of growing memory."""
    buckets = MemoryBuckets(max_buckets=100)
    rate_limits = limits(buckets, login_account="1/hour")
    for number in range(1000):
        assert buckets.take_now(rate_limits.login_account, f"user{number}@example.com") == 0
    assert len(buckets) == 100


# --- client addresses behind proxies ------------------------------------------------------------


@pytest.mark.parametrize(
    ("trusted", "separate"),
    [("127.0.0.1", True), ("192.0.2.1", False)],
    ids=["from-trusted-proxy", "from-untrusted-peer"],
)
async def test_forwarded_addresses_count_only_from_trusted_proxies(
    client: AsyncClient, trusted: str, separate: bool
) -> None:
    """uvicorn's own middleware, as `python -m app.serve` configures it: X-Forwarded-For is
    believed only from FORWARDED_ALLOW_IPS; otherwise every forged value is the same peer."""
    behind_proxy = ProxyHeadersMiddleware(app, trusted_hosts=trusted)
    with limited(limits(MemoryBuckets(), login_address="2/minute")):
        async with client_at("127.0.0.1", behind_proxy) as peer:
            statuses = []
            for forwarded in ["203.0.113.1", "203.0.113.2", "203.0.113.3", "203.0.113.4"]:
                response = await peer.post(
                    "/login",
                    data={"username": unique_email(), "password": "wrong password"},
                    headers={"X-Forwarded-For": forwarded},
                )
                statuses.append(response.status_code)
    assert statuses == ([401] * 4 if separate else [401, 401, 429, 429])


def test_the_server_trusts_proxy_headers_from_forwarded_allow_ips_only() -> None:
    options = server_options()
    assert options["proxy_headers"] is True
    assert options["forwarded_allow_ips"] == Settings(_env_file=None).FORWARDED_ALLOW_IPS


@pytest.fixture
def real_server(redis_url: str, redis_prefix: str, tmp_path: Path) -> Iterator[str]:
    """`python -m app.serve`'s uvicorn options (2 workers, proxy headers from the default
    FORWARDED_ALLOW_IPS), on loopback, limits in Redis; yields the base URL."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": TEST_DB.url,  # this run's own; only read (unknown emails)
        "ENVIRONMENT": "test",
        "BCRYPT_ROUNDS": "4",
        "WEB_CONCURRENCY": "2",
        "RATE_LIMIT_ENABLED": "true",
        "RATE_LIMIT_LOGIN_PER_ADDRESS": "5/hour",
        "REDIS_URL": redis_url,
        "RATE_LIMIT_REDIS_PREFIX": redis_prefix,
    }
    env.pop("FORWARDED_ALLOW_IPS", None)
    with running(["-c", SERVE, str(port)], env, tmp_path / "server.log", port=port) as base_url:
        yield base_url


def test_workers_of_a_real_server_share_limits_and_trust_the_local_proxy(
    real_server: str,
) -> None:
    """A fresh connection per request, so both workers answer; one count in Redis. The proxy
    on 127.0.0.1 (the default trusted one) names the client: another client is separate."""

    def attempt(forwarded: str) -> int:
        with httpx.Client(base_url=real_server, timeout=10) as fresh:
            response = fresh.post(
                "/login",
                data={"username": unique_email(), "password": "wrong password"},
                headers={"X-Forwarded-For": forwarded},
            )
        assert response.status_code in {401, 429}, response.text
        return response.status_code

    assert [attempt("198.51.100.7") for _ in range(7)] == [401] * 5 + [429] * 2
    assert attempt("198.51.100.8") == 401
