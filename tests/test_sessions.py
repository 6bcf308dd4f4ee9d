"""Sessions and tokens (API.md, "Sessions and tokens"): a login starts a session (a device) and
answers a token pair; refresh tokens rotate, work once, and one presented again ends its
session; sessions are listed and ended, and ending one stops its tokens at once."""

import asyncio
from datetime import timedelta
from typing import Any

import bcrypt
import jwt
from httpx import ASGITransport, AsyncClient, Response
from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from app.main import app
from app.models import utcnow
from tests.checks import assert_unauthorized
from tests.conftest import BASE_URL
from tests.factories import DEFAULT_PASSWORD, bearer, create_user, try_login

REPEATS = 10  # the races are timing games: each runs this many times
INVALID_REFRESH = {"detail": "Invalid refresh token"}


async def log_in(
    client: AsyncClient, user: dict[str, Any], user_agent: str = "pytest"
) -> dict[str, Any]:
    """A login's token pair, plus `headers` for its access token."""
    response = await client.post(
        "/login",
        data={"username": user["email"], "password": user["password"]},
        headers={"User-Agent": user_agent},
    )
    assert response.status_code == 200, response.text
    return {**response.json(), "headers": bearer(response.json()["access_token"])}


async def refresh(client: AsyncClient, refresh_token: str) -> Response:
    return await client.post("/token/refresh", json={"refresh_token": refresh_token})


async def assert_session_ended(client: AsyncClient, pair: dict[str, Any]) -> None:
    """Neither token of the pair (a login's or a refresh's answer) works any more."""
    headers = bearer(pair["access_token"])
    assert_unauthorized(await client.get("/users/me", headers=headers))
    assert_unauthorized(await client.get("/posts", headers=headers))
    assert_unauthorized(await client.get("/sessions", headers=headers))
    response = await refresh(client, pair["refresh_token"])
    assert response.status_code == 401 and response.json() == INVALID_REFRESH


async def session_ids(client: AsyncClient, headers: dict[str, str]) -> list[int]:
    response = await client.get("/sessions", headers=headers)
    assert response.status_code == 200, response.text
    return [row["id"] for row in response.json()]


# --- logging in -----------------------------------------------------------------------------


async def test_each_login_is_a_session_of_its_own(client: AsyncClient) -> None:
    user = await create_user(client)
    phone = await log_in(client, user, "Phone/1.0")
    laptop = await log_in(client, user, "Laptop/2.0")

    response = await client.get("/sessions", headers=laptop["headers"])
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    rows = response.json()
    assert [row["user_agent"] for row in rows] == ["Laptop/2.0", "Phone/1.0"]  # most recent first
    assert [row["current"] for row in rows] == [True, False]
    assert all(row["client"] == "127.0.0.1" for row in rows)
    assert set(rows[0]) == {"id", "created_at", "last_used_at", "user_agent", "client", "current"}
    phone_view = (await client.get("/sessions", headers=phone["headers"])).json()
    assert [row["current"] for row in phone_view] == [False, True]


async def test_a_proxys_forwarded_address_is_stored_only_when_it_is_one(
    client: AsyncClient,
) -> None:
    """Behind a trusted proxy, uvicorn's middleware (as `python -m app.serve` configures it)
    takes X-Forwarded-For as it comes: the session keeps it in its canonical form when it is
    an IP address, and null (unknown) when it is not, however long."""
    user = await create_user(client)
    behind_proxy = ProxyHeadersMiddleware(app, trusted_hosts="127.0.0.1")
    forwarded = {
        "198.51.100.7": "198.51.100.7",
        "2001:0db8:0000:0000:0000:0000:0000:0001": "2001:db8::1",  # 39 characters
        "x" * 65: None,
        "203.0.113." + "9" * 100: None,
        "fe80::1%" + "z" * 60: None,  # an IPv6 address, but its zone makes it too long
        "<script>": None,
    }
    async with AsyncClient(transport=ASGITransport(behind_proxy), base_url=BASE_URL) as proxied:
        for value in forwarded:
            response = await proxied.post(
                "/login",
                data={"username": user["email"], "password": user["password"]},
                headers={"X-Forwarded-For": value},
            )
            assert response.status_code == 200, (value, response.text)
        headers = bearer(response.json()["access_token"])
        rows = (await proxied.get("/sessions", headers=headers)).json()
    assert [row["client"] for row in reversed(rows)] == list(forwarded.values())


async def test_sessions_lists_only_the_callers_own(client: AsyncClient) -> None:
    user, other = await create_user(client), await create_user(client)
    mine = await log_in(client, user)
    await log_in(client, other)
    assert len(await session_ids(client, mine["headers"])) == 1


async def test_sessions_are_ordered_by_their_last_use(client: AsyncClient) -> None:
    user = await create_user(client)
    first = await log_in(client, user, "first")
    second = await log_in(client, user, "second")
    renewed = await refresh(client, first["refresh_token"])  # `first` is used last now
    assert renewed.status_code == 200
    rows = (await client.get("/sessions", headers=second["headers"])).json()
    assert [row["user_agent"] for row in rows] == ["first", "second"]
    assert rows[0]["last_used_at"] > rows[0]["created_at"]


async def test_a_long_user_agent_is_kept_cut(client: AsyncClient) -> None:
    user = await create_user(client)
    pair = await log_in(client, user, "A" * 5000)
    rows = (await client.get("/sessions", headers=pair["headers"])).json()
    assert rows[0]["user_agent"] == "A" * 512


# --- refreshing -----------------------------------------------------------------------------


async def test_refresh_answers_a_new_pair_for_the_same_session(client: AsyncClient) -> None:
    user = await create_user(client)
    pair = await log_in(client, user)
    response = await refresh(client, pair["refresh_token"])
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    renewed = response.json()
    assert renewed["refresh_token"] != pair["refresh_token"]
    assert renewed["token_type"] == "bearer" and renewed["expires_in"] == 15 * 60
    me = await client.get("/users/me", headers=bearer(renewed["access_token"]))
    assert me.status_code == 200 and me.json()["id"] == user["id"]
    old_claims = jwt.decode(pair["access_token"], options={"verify_signature": False})
    new_claims = jwt.decode(renewed["access_token"], options={"verify_signature": False})
    assert new_claims["sid"] == old_claims["sid"]
    assert len(await session_ids(client, bearer(renewed["access_token"]))) == 1


async def test_a_refresh_token_works_once_and_its_reuse_ends_the_session(
    client: AsyncClient,
) -> None:
    user = await create_user(client)
    other_device = await log_in(client, user)
    pair = await log_in(client, user)
    renewed = (await refresh(client, pair["refresh_token"])).json()

    # The retired token again: it was copied; the whole session ends, the new pair included.
    reused = await refresh(client, pair["refresh_token"])
    assert reused.status_code == 401 and reused.json() == INVALID_REFRESH
    assert reused.headers["www-authenticate"] == "Bearer"
    await assert_session_ended(client, renewed)
    await assert_session_ended(client, pair)
    # The account's other sessions live on.
    assert (await client.get("/users/me", headers=other_device["headers"])).status_code == 200


async def test_a_refresh_chain_keeps_the_session_going(client: AsyncClient) -> None:
    user = await create_user(client)
    token = (await log_in(client, user))["refresh_token"]
    for _ in range(5):
        response = await refresh(client, token)
        assert response.status_code == 200, response.text
        token = response.json()["refresh_token"]
    assert (await refresh(client, token)).status_code == 200


async def test_unknown_refresh_tokens_are_401(client: AsyncClient) -> None:
    user = await create_user(client)
    pair = await log_in(client, user)
    for token in ("", "nonsense", pair["access_token"][:200], pair["refresh_token"] + "x"):
        response = await refresh(client, token)
        assert response.status_code == 401, (token, response.text)
        assert response.json() == INVALID_REFRESH
    # Guessing does not end the real session.
    assert (await refresh(client, pair["refresh_token"])).status_code == 200


async def test_refresh_with_a_malformed_body_is_422_and_echoes_no_token(
    client: AsyncClient,
) -> None:
    for body in ({}, {"refresh_token": 5}, {"refresh_token": "x" * 201}, ["secret-looking"]):
        response = await client.post("/token/refresh", json=body)
        assert response.status_code == 422, (body, response.text)
        assert "x" * 201 not in response.text


async def test_an_unused_session_expires(client: AsyncClient, session: AsyncSession) -> None:
    user = await create_user(client)
    stale = await log_in(client, user, "stale")
    fresh = await log_in(client, user, "fresh")
    long_ago = utcnow() - timedelta(days=31)  # REFRESH_TOKEN_EXPIRE_DAYS' default is 30
    await session.exec(  # type: ignore[call-overload]
        text("UPDATE sessions SET last_used_at = :at WHERE user_agent = 'stale'"),
        params={"at": long_ago},
    )
    await session.commit()

    response = await refresh(client, stale["refresh_token"])
    assert response.status_code == 401 and response.json() == INVALID_REFRESH
    assert_unauthorized(await client.get("/users/me", headers=stale["headers"]))
    rows = (await client.get("/sessions", headers=fresh["headers"])).json()
    assert [row["user_agent"] for row in rows] == ["fresh"]


# --- ending sessions ------------------------------------------------------------------------


async def test_logout_ends_only_the_callers_session(client: AsyncClient) -> None:
    user = await create_user(client)
    phone = await log_in(client, user)
    laptop = await log_in(client, user)
    response = await client.post("/logout", headers=phone["headers"])
    assert response.status_code == 204 and response.content == b""
    await assert_session_ended(client, phone)
    assert (await client.get("/users/me", headers=laptop["headers"])).status_code == 200
    assert_unauthorized(await client.post("/logout", headers=phone["headers"]))
    assert_unauthorized(await client.post("/logout"))


async def test_deleting_a_session_logs_that_device_out(client: AsyncClient) -> None:
    user = await create_user(client)
    lost_phone = await log_in(client, user, "lost phone")
    laptop = await log_in(client, user, "laptop")
    phone_id, laptop_id = sorted(await session_ids(client, laptop["headers"]))

    response = await client.delete(f"/sessions/{phone_id}", headers=laptop["headers"])
    assert response.status_code == 204 and response.content == b""
    await assert_session_ended(client, lost_phone)
    assert await session_ids(client, laptop["headers"]) == [laptop_id]
    # Gone: a second time is 404.
    again = await client.delete(f"/sessions/{phone_id}", headers=laptop["headers"])
    assert again.status_code == 404 and again.json()["detail"]


async def test_deleting_the_current_session_is_a_logout(client: AsyncClient) -> None:
    user = await create_user(client)
    pair = await log_in(client, user)
    (own_id,) = await session_ids(client, pair["headers"])
    assert (await client.delete(f"/sessions/{own_id}", headers=pair["headers"])).status_code == 204
    await assert_session_ended(client, pair)


async def test_another_users_session_is_404_and_lives_on(client: AsyncClient) -> None:
    user, other = await create_user(client), await create_user(client)
    mine = await log_in(client, user)
    theirs = await log_in(client, other)
    (their_id,) = await session_ids(client, theirs["headers"])
    for session_id in (their_id, their_id + 1000):
        response = await client.delete(f"/sessions/{session_id}", headers=mine["headers"])
        assert response.status_code == 404, response.text
    assert (await client.get("/users/me", headers=theirs["headers"])).status_code == 200
    assert_unauthorized(await client.delete(f"/sessions/{their_id}"))
    for bad in ("0", "-1", "2147483648", "abc"):
        response = await client.delete(f"/sessions/{bad}", headers=mine["headers"])
        assert response.status_code == 422, (bad, response.text)


async def test_logout_all_ends_every_session(client: AsyncClient) -> None:
    user = await create_user(client)
    pairs = [await log_in(client, user) for _ in range(3)]
    assert (await client.post("/logout-all", headers=pairs[0]["headers"])).status_code == 204
    for pair in pairs:
        await assert_session_ended(client, pair)
    fresh = await log_in(client, user)  # a login right after works
    assert await session_ids(client, fresh["headers"]) != []


async def test_a_password_change_ends_every_session_the_new_login_works(
    client: AsyncClient,
) -> None:
    user = await create_user(client)
    pairs = [await log_in(client, user) for _ in range(2)]
    change = {"password": "a brand new password", "current_password": DEFAULT_PASSWORD}
    response = await client.patch("/users/me", json=change, headers=pairs[0]["headers"])
    assert response.status_code == 200, response.text
    for pair in pairs:
        await assert_session_ended(client, pair)
    fresh = await log_in(client, {**user, "password": "a brand new password"})
    assert (await client.get("/users/me", headers=fresh["headers"])).status_code == 200


async def test_deleting_the_account_deletes_its_sessions(
    client: AsyncClient, session: AsyncSession
) -> None:
    user = await create_user(client)
    pair = await log_in(client, user)
    assert (await client.delete("/users/me", headers=pair["headers"])).status_code == 204
    await assert_session_ended(client, pair)
    left = await session.exec(text("SELECT count(*) FROM sessions"))  # type: ignore[call-overload]
    assert left.scalar() == 0


# --- races ----------------------------------------------------------------------------------


async def slow_down_password_check(session: AsyncSession, user_id: int, rounds: int) -> None:
    """The account's hash (of DEFAULT_PASSWORD) at a higher bcrypt cost than the suite's, so
    that a login spends a while in its password check and overlaps the request it races."""
    slow_hash = bcrypt.hashpw(DEFAULT_PASSWORD.encode(), bcrypt.gensalt(rounds)).decode()
    await session.exec(  # type: ignore[call-overload]
        text("UPDATE users SET hashed_password = :hash WHERE id = :id"),
        params={"hash": slow_hash, "id": user_id},
    )
    await session.commit()


async def test_of_concurrent_refreshes_with_one_token_exactly_one_succeeds(
    client: AsyncClient,
) -> None:
    """API.md: exactly one 200; the others present a retired token, so the session ends."""
    user = await create_user(client)
    for _ in range(REPEATS):
        pair = await log_in(client, user)
        responses = await asyncio.gather(
            *(refresh(client, pair["refresh_token"]) for _ in range(4))
        )
        statuses = sorted(response.status_code for response in responses)
        assert statuses == [200, 401, 401, 401], [r.text for r in responses]
        (winner,) = [r.json() for r in responses if r.status_code == 200]
        await assert_session_ended(client, winner)


async def test_a_refresh_racing_a_logout_never_outlives_it(client: AsyncClient) -> None:
    user = await create_user(client)
    for _ in range(REPEATS):
        pair = await log_in(client, user)
        renewed, logout = await asyncio.gather(
            refresh(client, pair["refresh_token"]),
            client.post("/logout", headers=pair["headers"]),
        )
        assert logout.status_code in (204, 401), logout.text
        assert renewed.status_code in (200, 401), renewed.text
        await assert_session_ended(client, pair)
        if renewed.status_code == 200:
            await assert_session_ended(client, renewed.json())


async def test_a_login_racing_a_password_change_never_yields_a_working_token(
    client: AsyncClient, session: AsyncSession
) -> None:
    """API.md: a login whose password check started before a password change never yields a
    working token. The account's hash gets a higher bcrypt cost, so that both requests spend
    a while in bcrypt and overlap."""
    for attempt in range(REPEATS):
        user = await create_user(client)
        await slow_down_password_check(session, user["id"], rounds=8)
        changer = await log_in(client, user)
        new_password = f"new password {attempt}"
        change = {"password": new_password, "current_password": DEFAULT_PASSWORD}
        login, changed = await asyncio.gather(
            try_login(client, user["email"]),
            client.patch("/users/me", json=change, headers=changer["headers"]),
        )
        assert changed.status_code == 200, changed.text
        assert login.status_code in (200, 401), login.text
        if login.status_code == 200:
            await assert_session_ended(client, login.json())
        fresh = await log_in(client, {**user, "password": new_password})
        assert (await client.get("/users/me", headers=fresh["headers"])).status_code == 200


async def logout_all_soon(client: AsyncClient, headers: dict[str, str]) -> Response:
    await asyncio.sleep(0.01)  # a login's password check is under way
    return await client.post("/logout-all", headers=headers)


async def test_a_login_racing_logout_all_never_yields_a_working_token(
    client: AsyncClient, session: AsyncSession
) -> None:
    """Logout-all is quick and the login's bcrypt check (at a higher cost for this account)
    slow: the check starts before the logout-all and ends after it."""
    user = await create_user(client)
    await slow_down_password_check(session, user["id"], rounds=10)
    for _ in range(3):
        device = await log_in(client, user)

        login, logout_all = await asyncio.gather(
            try_login(client, user["email"]),
            logout_all_soon(client, device["headers"]),
        )
        assert logout_all.status_code == 204, logout_all.text
        assert login.status_code in (200, 401), login.text
        if login.status_code == 200:
            await assert_session_ended(client, login.json())
