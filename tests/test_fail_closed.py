"""Fail closed: every route that takes a token answers 401 to a token whose session has ended,
however the route checks it (the `Caller` and `CurrentUser` dependencies, or its own statement
for the routes that opt into that: `CallerCheckedInStatement`).

The routes come from the OpenAPI document (every operation that declares the bearer scheme),
so a new route is covered without being listed here. Each gets the ended session's token with
a request that would succeed for a live one: the caller is an admin, the path ids name their
own post, comment, account and other session, and the body is the operation's own example.
"""

from typing import Any

import pytest
from httpx import AsyncClient

from tests.checks import assert_unauthorized
from tests.contract import BY_KEY, WITH_TOKEN, request_for
from tests.factories import (
    DEFAULT_PASSWORD,
    create_comment,
    create_post,
    login,
    make_admin,
    new_account,
)

NEW_PASSWORD = "a brand new password"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def world(client: AsyncClient) -> dict[str, Any]:
    """An admin with a post, a comment on it, and two sessions: the one whose token is ended,
    and another one that ends it (or names it)."""
    me = await new_account(client, name="ending")
    await make_admin(me)
    other_token = await login(client, me["email"])
    post = await create_post(client, me["headers"])
    comment = await create_comment(client, me["headers"], post["id"])
    sessions = await client.get("/sessions", headers=me["headers"])
    (other_session,) = [row["id"] for row in sessions.json() if not row["current"]]
    ids = {
        "post_id": post["id"],
        "comment_id": comment["id"],
        "user_id": me["id"],
        "session_id": other_session,
    }
    return {**me, "other": bearer(other_token), "ids": ids}


async def _log_out(client: AsyncClient, me: dict[str, Any]) -> None:
    assert (await client.post("/logout", headers=me["headers"])).status_code == 204


async def _log_out_everywhere(client: AsyncClient, me: dict[str, Any]) -> None:
    assert (await client.post("/logout-all", headers=me["other"])).status_code == 204


async def _end_it_from_another_device(client: AsyncClient, me: dict[str, Any]) -> None:
    sessions = (await client.get("/sessions", headers=me["other"])).json()
    (ended,) = [row["id"] for row in sessions if not row["current"]]
    assert (await client.delete(f"/sessions/{ended}", headers=me["other"])).status_code == 204


async def _change_the_password(client: AsyncClient, me: dict[str, Any]) -> None:
    body = {"password": NEW_PASSWORD, "current_password": DEFAULT_PASSWORD}
    assert (await client.patch("/users/me", json=body, headers=me["other"])).status_code == 200


async def _be_disabled(client: AsyncClient, me: dict[str, Any]) -> None:
    admin = await new_account(client)
    await make_admin(admin)
    response = await client.patch(
        f"/admin/users/{me['id']}", json={"disabled": True}, headers=admin["headers"]
    )
    assert response.status_code == 200, response.text


async def _delete_the_account(client: AsyncClient, me: dict[str, Any]) -> None:
    await make_admin(await new_account(client))  # one enabled admin always remains
    assert (await client.delete("/users/me", headers=me["other"])).status_code == 204


ENDINGS = {
    "logout": _log_out,
    "logout-all": _log_out_everywhere,
    "ended from another device": _end_it_from_another_device,
    "password change": _change_the_password,
    "account disabled": _be_disabled,
    "account deleted": _delete_the_account,
}


@pytest.mark.parametrize("ending", ENDINGS)
async def test_every_route_that_takes_a_token_refuses_an_ended_session(
    client: AsyncClient, ending: str
) -> None:
    document = (await client.get("/openapi.json")).json()
    with_token = [
        BY_KEY[f"{method.upper()} {path}"]
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if operation.get("security")
    ]
    me = await world(client)
    assert (await client.get("/users/me", headers=me["headers"])).status_code == 200
    await ENDINGS[ending](client, me)

    for operation in with_token:
        request = request_for(operation, document, me["ids"], headers=me["headers"])
        if operation.path == "/vote":
            request["json"] = {"post_id": me["ids"]["post_id"], "dir": 1}
        assert_unauthorized(await client.request(**request))
    # Every operation the contract says takes a token is among them, and nothing else.
    assert sorted(operation.key for operation in with_token) == sorted(
        operation.key for operation in WITH_TOKEN
    )
