"""POST /logout-all: every token issued before it stops working, like a password change."""

from httpx import AsyncClient

from tests.checks import assert_unauthorized
from tests.factories import bearer, login, new_account


async def test_logout_all_answers_204_with_no_body(client: AsyncClient) -> None:
    user = await new_account(client)
    response = await client.post("/logout-all", headers=user["headers"])
    assert response.status_code == 204
    assert response.content == b""


async def test_every_token_issued_before_stops_working(client: AsyncClient) -> None:
    user = await new_account(client)
    other_device = bearer(await login(client, user["email"], user["password"]))

    assert (await client.post("/logout-all", headers=user["headers"])).status_code == 204

    for headers in (user["headers"], other_device):
        assert_unauthorized(await client.get("/users/me", headers=headers))
        assert_unauthorized(await client.get("/posts", headers=headers))
    assert_unauthorized(await client.post("/logout-all", headers=user["headers"]))


async def test_a_login_right_after_works_even_within_the_same_second(client: AsyncClient) -> None:
    user = await new_account(client)
    assert (await client.post("/logout-all", headers=user["headers"])).status_code == 204

    fresh = bearer(await login(client, user["email"], user["password"]))
    me = await client.get("/users/me", headers=fresh)
    assert me.status_code == 200
    assert me.json()["id"] == user["id"]
    assert_unauthorized(await client.get("/users/me", headers=user["headers"]))


async def test_other_users_keep_their_tokens(client: AsyncClient) -> None:
    user = await new_account(client)
    other = await new_account(client)
    assert (await client.post("/logout-all", headers=user["headers"])).status_code == 204
    assert (await client.get("/users/me", headers=other["headers"])).status_code == 200


async def test_logout_all_needs_a_token(client: AsyncClient) -> None:
    assert_unauthorized(await client.post("/logout-all"))
    assert_unauthorized(await client.post("/logout-all", headers=bearer("not-a-token")))
