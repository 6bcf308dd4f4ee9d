"""Admins (API.md, "Admins"): the first one made from the command line; then the /admin/users
endpoints, deleting any post, and what disabling an account does to its logins, sessions and
posts."""

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.migrations import PROJECT_ROOT
from app.services.admin import set_admin
from tests.checks import assert_unauthorized
from tests.conftest import TEST_DB
from tests.factories import (
    DEFAULT_PASSWORD,
    auth_headers,
    bearer,
    create_post,
    create_user,
    new_account,
    try_login,
    unique_email,
    vote,
)

ADMINS_ONLY = {"detail": "Admins only"}
USER_ADMIN_KEYS = {"id", "name", "email", "created_at", "is_admin", "disabled", "posts"}


def admin_cli(*args: str, database_url: str = TEST_DB.url) -> subprocess.CompletedProcess[str]:
    """`python -m app.admin ...` on this run's database, as an operator runs it on the server."""
    return subprocess.run(
        [sys.executable, "-m", "app.admin", *args],
        cwd=PROJECT_ROOT,
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=60,
    )


async def new_admin(client: AsyncClient, session: AsyncSession) -> dict[str, Any]:
    """A logged-in admin. Made by the service the CLI runs (the CLI itself is tested below,
    once: a process per test would only slow the suite)."""
    user = await create_user(client, name="Ada Admin")
    assert await set_admin(session, user["email"], True) is not None
    return {**user, "headers": await auth_headers(client, user)}


async def disable(
    client: AsyncClient, admin: dict[str, Any], user_id: int, value: bool = True
) -> dict[str, Any]:
    response = await client.patch(
        f"/admin/users/{user_id}", json={"disabled": value}, headers=admin["headers"]
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


# --- the command line -------------------------------------------------------------------------


async def test_promote_and_demote_from_the_command_line(
    client: AsyncClient, session: AsyncSession
) -> None:
    user = await create_user(client, email=unique_email("Boss"))
    headers = await auth_headers(client, user)
    assert (await client.get("/admin/users", headers=headers)).status_code == 403

    promoted = await asyncio.to_thread(admin_cli, "promote", user["email"].upper())
    assert promoted.returncode == 0, promoted.stderr
    assert promoted.stdout.strip() == f"{user['email']} (user {user['id']}) is now an admin."
    assert (await client.get("/users/me", headers=headers)).json()["is_admin"] is True
    assert (await client.get("/admin/users", headers=headers)).status_code == 200

    await new_admin(client, session)  # not the last enabled admin (see below)
    demoted = await asyncio.to_thread(admin_cli, "demote", user["email"])
    assert demoted.returncode == 0, demoted.stderr
    assert "no longer an admin" in demoted.stdout
    assert (await client.get("/admin/users", headers=headers)).json() == ADMINS_ONLY


async def test_the_command_line_says_what_is_wrong(client: AsyncClient) -> None:
    unknown = await asyncio.to_thread(admin_cli, "promote", "nobody@example.com")
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == "app.admin: no account for 'nobody@example.com'"
    assert "Traceback" not in unknown.stderr
    usage = await asyncio.to_thread(admin_cli, "crown", "x@example.com")
    assert usage.returncode == 2 and "invalid choice" in usage.stderr
    down = await asyncio.to_thread(
        admin_cli, "promote", "x@example.com", database_url="postgresql://postgres@127.0.0.1:1/x"
    )
    assert down.returncode == 1 and "Traceback" not in down.stderr
    (line,) = down.stderr.splitlines()
    assert line.startswith("app.admin: ") and "refused" in line.lower(), line


# --- who may ----------------------------------------------------------------------------------


async def test_admin_endpoints_are_for_admins_only(client: AsyncClient) -> None:
    user = await new_account(client)
    for method, path, body in [
        ("GET", "/admin/users", None),
        ("GET", f"/admin/users/{user['id']}", None),
        ("PATCH", f"/admin/users/{user['id']}", {"is_admin": True}),
        ("DELETE", f"/admin/users/{user['id']}", None),
    ]:
        response = await client.request(method, path, json=body, headers=user["headers"])
        assert response.status_code == 403 and response.json() == ADMINS_ONLY, (method, path)
        assert_unauthorized(await client.request(method, path, json=body))
    me = (await client.get("/users/me", headers=user["headers"])).json()
    assert me["is_admin"] is False


async def test_is_admin_cannot_be_set_by_the_user(client: AsyncClient) -> None:
    user = await new_account(client)
    response = await client.patch("/users/me", json={"is_admin": True}, headers=user["headers"])
    assert response.status_code in (200, 422)
    assert (await client.get("/users/me", headers=user["headers"])).json()["is_admin"] is False
    signup = await client.post(
        "/users", json={"email": unique_email(), "password": DEFAULT_PASSWORD, "is_admin": True}
    )
    assert signup.status_code in (201, 422)
    if signup.status_code == 201:
        assert signup.json()["is_admin"] is False


# --- the accounts -----------------------------------------------------------------------------


async def test_list_newest_first_with_post_counts_and_search(
    client: AsyncClient, session: AsyncSession
) -> None:
    admin = await new_admin(client, session)
    alice = await new_account(client, name="Alice Liddell")
    bob = await new_account(client, name="Bob")
    await create_post(client, alice["headers"])
    await create_post(client, alice["headers"], published=False)  # drafts count

    response = await client.get("/admin/users", headers=admin["headers"])
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    rows = response.json()
    assert [row["id"] for row in rows] == [bob["id"], alice["id"], admin["id"]]
    assert set(rows[0]) == USER_ADMIN_KEYS
    assert {row["id"]: row["posts"] for row in rows} == {
        bob["id"]: 0,
        alice["id"]: 2,
        admin["id"]: 0,
    }
    assert rows[1]["email"] == alice["email"] and rows[1]["disabled"] is False
    assert rows[2]["is_admin"] is True

    async def search(text: str, **params: Any) -> list[int]:
        found = await client.get(
            "/admin/users", params={"search": text, **params}, headers=admin["headers"]
        )
        assert found.status_code == 200, found.text
        return [row["id"] for row in found.json()]

    assert await search("LIDDELL") == [alice["id"]]  # the name, any case
    assert await search(alice["email"].split("@")[0].upper()) == [alice["id"]]  # the e-mail
    assert await search("%") == [] and await search("_") == []  # literal, not a pattern
    assert await search("") == [bob["id"], alice["id"], admin["id"]]
    page = await client.get(
        "/admin/users", params={"limit": 1, "skip": 1}, headers=admin["headers"]
    )
    assert [row["id"] for row in page.json()] == [alice["id"]]
    for params in ({"limit": 0}, {"limit": 101}, {"skip": -1}, {"search": "x" * 201}):
        bad = await client.get("/admin/users", params=params, headers=admin["headers"])
        assert bad.status_code == 422, params


async def test_get_one_account(client: AsyncClient, session: AsyncSession) -> None:
    admin = await new_admin(client, session)
    user = await new_account(client)
    response = await client.get(f"/admin/users/{user['id']}", headers=admin["headers"])
    assert response.status_code == 200
    assert response.json()["email"] == user["email"] and response.json()["posts"] == 0
    missing = await client.get(f"/admin/users/{user['id'] + 1000}", headers=admin["headers"])
    assert missing.status_code == 404 and missing.json() == {"detail": "User not found"}
    assert (await client.get("/admin/users/0", headers=admin["headers"])).status_code == 422


async def test_admins_make_and_unmake_admins(client: AsyncClient, session: AsyncSession) -> None:
    admin = await new_admin(client, session)
    user = await new_account(client)
    made = await client.patch(
        f"/admin/users/{user['id']}", json={"is_admin": True}, headers=admin["headers"]
    )
    assert made.status_code == 200 and made.json()["is_admin"] is True
    # The new admin can now demote the first one, who cannot demote themselves.
    own = await client.patch(
        f"/admin/users/{user['id']}", json={"is_admin": False}, headers=user["headers"]
    )
    assert own.status_code == 409
    assert own.json() == {"detail": "Admins cannot disable or demote themselves"}
    other = await client.patch(
        f"/admin/users/{admin['id']}", json={"is_admin": False}, headers=user["headers"]
    )
    assert other.status_code == 200 and other.json()["is_admin"] is False
    assert (await client.get("/admin/users", headers=admin["headers"])).status_code == 403


async def test_patch_validates_its_body(client: AsyncClient, session: AsyncSession) -> None:
    admin = await new_admin(client, session)
    user = await new_account(client)
    for body in ({"disabled": "yes"}, {"is_admin": 1}, {"disabled": None}, []):
        response = await client.patch(
            f"/admin/users/{user['id']}", json=body, headers=admin["headers"]
        )
        assert response.status_code == 422, (body, response.text)
    empty = await client.patch(f"/admin/users/{user['id']}", json={}, headers=admin["headers"])
    assert empty.status_code == 200 and empty.json()["disabled"] is False
    missing = await client.patch(
        f"/admin/users/{user['id'] + 1000}", json={"disabled": True}, headers=admin["headers"]
    )
    assert missing.status_code == 404


async def test_an_admin_cannot_disable_or_delete_themselves(
    client: AsyncClient, session: AsyncSession
) -> None:
    admin = await new_admin(client, session)
    path = f"/admin/users/{admin['id']}"
    disabled = await client.patch(path, json={"disabled": True}, headers=admin["headers"])
    assert disabled.status_code == 409
    deleted = await client.delete(path, headers=admin["headers"])
    assert deleted.status_code == 409
    assert deleted.json() == {"detail": "Admins cannot delete themselves here"}
    assert (await client.get("/users/me", headers=admin["headers"])).status_code == 200


async def test_deleting_an_account_takes_its_posts_votes_and_sessions(
    client: AsyncClient, session: AsyncSession
) -> None:
    admin = await new_admin(client, session)
    user = await new_account(client)
    reader = await new_account(client)
    post = await create_post(client, user["headers"])
    kept = await create_post(client, reader["headers"])
    await vote(client, user["headers"], kept["id"])

    response = await client.delete(f"/admin/users/{user['id']}", headers=admin["headers"])
    assert response.status_code == 204 and response.content == b""
    assert_unauthorized(await client.get("/users/me", headers=user["headers"]))
    assert (await client.get(f"/posts/{post['id']}", headers=reader["headers"])).status_code == 404
    assert (await client.get(f"/posts/{kept['id']}", headers=reader["headers"])).json()[
        "votes"
    ] == 0
    again = await client.delete(f"/admin/users/{user['id']}", headers=admin["headers"])
    assert again.status_code == 404


# --- disabled accounts ------------------------------------------------------------------------


async def test_a_disabled_account_cannot_log_in_or_refresh(
    client: AsyncClient, session: AsyncSession
) -> None:
    admin = await new_admin(client, session)
    user = await create_user(client)
    pair = (await try_login(client, user["email"])).json()

    body = await disable(client, admin, user["id"])
    assert body["disabled"] is True
    # Its sessions end at once.
    assert_unauthorized(await client.get("/users/me", headers=bearer(pair["access_token"])))
    refreshed = await client.post("/token/refresh", json={"refresh_token": pair["refresh_token"]})
    assert refreshed.status_code == 401
    right = await try_login(client, user["email"])
    assert right.status_code == 403 and right.json() == {"detail": "Account disabled"}
    wrong = await try_login(client, user["email"], "wrong one!")
    assert wrong.status_code == 401 and wrong.json() == {"detail": "Incorrect email or password"}

    await disable(client, admin, user["id"], False)  # enabled again: logins work
    again = await try_login(client, user["email"])
    assert again.status_code == 200


async def test_a_disabled_accounts_posts_are_hidden_from_all_but_admins(
    client: AsyncClient, session: AsyncSession
) -> None:
    admin = await new_admin(client, session)
    author = await new_account(client)
    reader = await new_account(client)
    post = await create_post(client, author["headers"], title="Spam spam spam")
    draft = await create_post(client, author["headers"], published=False)
    await disable(client, admin, author["id"])

    assert (await client.get(f"/posts/{post['id']}", headers=reader["headers"])).status_code == 404
    assert (await client.get("/posts", headers=reader["headers"])).json() == []
    listed = await client.get("/posts", params={"search": "spam"}, headers=reader["headers"])
    assert listed.json() == []
    voted = await client.post(
        "/vote", json={"post_id": post["id"], "dir": 1}, headers=reader["headers"]
    )
    assert voted.status_code == 404

    # Admins still see it (to judge it), but not the draft: drafts stay private.
    seen = await client.get(f"/posts/{post['id']}", headers=admin["headers"])
    assert seen.status_code == 200
    assert [p["id"] for p in (await client.get("/posts", headers=admin["headers"])).json()] == [
        post["id"]
    ]
    hidden = await client.get(f"/posts/{draft['id']}", headers=admin["headers"])
    assert hidden.status_code == 404

    await disable(client, admin, author["id"], False)
    assert (await client.get(f"/posts/{post['id']}", headers=reader["headers"])).status_code == 200


async def test_admins_delete_any_post_drafts_included(
    client: AsyncClient, session: AsyncSession
) -> None:
    admin = await new_admin(client, session)
    author = await new_account(client)
    other = await new_account(client)
    post = await create_post(client, author["headers"])
    draft = await create_post(client, author["headers"], published=False)

    forbidden = await client.delete(f"/posts/{post['id']}", headers=other["headers"])
    assert forbidden.status_code == 403
    for target in (post, draft):
        response = await client.delete(f"/posts/{target['id']}", headers=admin["headers"])
        assert response.status_code == 204, response.text
    assert (await client.get(f"/posts/{post['id']}", headers=author["headers"])).status_code == 404
    assert (await client.get(f"/posts/{draft['id']}", headers=author["headers"])).status_code == 404
    # Changing a post stays with its owner.
    mine = await create_post(client, author["headers"])
    edit = await client.patch(f"/posts/{mine['id']}", json={"title": "x"}, headers=admin["headers"])
    assert edit.status_code == 403
    missing = await client.delete(f"/posts/{mine['id'] + 1000}", headers=admin["headers"])
    assert missing.status_code == 404


async def test_disabling_racing_a_login_never_leaves_a_working_session(
    client: AsyncClient, session: AsyncSession
) -> None:
    admin = await new_admin(client, session)
    for _ in range(5):
        user = await create_user(client)
        logged_in, disabled = await asyncio.gather(
            try_login(client, user["email"]),
            client.patch(
                f"/admin/users/{user['id']}", json={"disabled": True}, headers=admin["headers"]
            ),
        )
        assert disabled.status_code == 200, disabled.text
        assert logged_in.status_code in (200, 401, 403), logged_in.text
        if logged_in.status_code == 200:
            token = bearer(logged_in.json()["access_token"])
            assert_unauthorized(await client.get("/users/me", headers=token))


# --- one active admin always remains ------------------------------------------------------------

LAST_ADMIN = {"detail": "At least one active admin must remain"}


async def active_admins(session: AsyncSession) -> list[int]:
    rows = await session.exec(  # type: ignore[call-overload]
        text("SELECT id FROM users WHERE is_admin AND NOT disabled ORDER BY id")
    )
    await session.commit()  # the next look sees what was committed since
    return [row[0] for row in rows]


async def test_the_last_active_admin_cannot_delete_their_account(
    client: AsyncClient, session: AsyncSession
) -> None:
    """API.md, "Admins": `DELETE /users/me` by the only enabled admin is 409, and the account
    stays; once another enabled admin exists, it works."""
    admin = await new_admin(client, session)
    alone = await client.delete("/users/me", headers=admin["headers"])
    assert alone.status_code == 409 and alone.json() == LAST_ADMIN
    assert (await client.get("/users/me", headers=admin["headers"])).status_code == 200

    other = await new_admin(client, session)
    await disable(client, admin, other["id"])  # a disabled admin is not an active one
    again = await client.delete("/users/me", headers=admin["headers"])
    assert again.status_code == 409 and again.json() == LAST_ADMIN

    await disable(client, admin, other["id"], False)
    left = await client.delete("/users/me", headers=admin["headers"])
    assert left.status_code == 204, left.text
    assert await active_admins(session) == [other["id"]]
    # An ordinary account leaves as before.
    user = await new_account(client)
    assert (await client.delete("/users/me", headers=user["headers"])).status_code == 204


async def test_the_command_line_does_not_demote_the_last_active_admin(
    client: AsyncClient, session: AsyncSession
) -> None:
    admin = await new_admin(client, session)
    refused = await asyncio.to_thread(admin_cli, "demote", admin["email"])
    assert refused.returncode == 1, refused.stdout
    assert refused.stderr.strip() == (
        f"app.admin: cannot demote {admin['email']!r}: At least one active admin must remain "
        "(promote another account first)"
    )
    assert await active_admins(session) == [admin["id"]]

    other = await new_admin(client, session)
    demoted = await asyncio.to_thread(admin_cli, "demote", admin["email"])
    assert demoted.returncode == 0, demoted.stderr
    assert await active_admins(session) == [other["id"]]


def demote(actor: dict[str, Any], target: dict[str, Any]) -> tuple[str, str, Any]:
    return "PATCH", f"/admin/users/{target['id']}", {"is_admin": False}


def disable_other(actor: dict[str, Any], target: dict[str, Any]) -> tuple[str, str, Any]:
    return "PATCH", f"/admin/users/{target['id']}", {"disabled": True}


def delete_other(actor: dict[str, Any], target: dict[str, Any]) -> tuple[str, str, Any]:
    return "DELETE", f"/admin/users/{target['id']}", None


def leave(actor: dict[str, Any], target: dict[str, Any]) -> tuple[str, str, Any]:
    return "DELETE", "/users/me", None


RemoveAnAdmin = Callable[[dict[str, Any], dict[str, Any]], tuple[str, str, Any]]
# Each of two admins, at the same moment, removes the other (or, `leave`, themselves).
MUTUAL_REMOVALS: dict[str, tuple[RemoveAnAdmin, RemoveAnAdmin]] = {
    "demote-demote": (demote, demote),
    "disable-disable": (disable_other, disable_other),
    "delete-delete": (delete_other, delete_other),
    "demote-disable": (demote, disable_other),
    "disable-delete": (disable_other, delete_other),
    "leave-leave": (leave, leave),
}
ADMIN_RACES = 10  # timing games: each pair runs this many times


@pytest.mark.parametrize("removals", MUTUAL_REMOVALS.values(), ids=MUTUAL_REMOVALS.keys())
async def test_two_admins_removing_each_other_at_once_leave_one(
    client: AsyncClient, session: AsyncSession, removals: tuple[RemoveAnAdmin, RemoveAnAdmin]
) -> None:
    """The last two enabled admins demote, disable or delete each other (or both leave) at the
    same moment, with real commits on separate connections: one wins, the other gets 409 (or,
    when the winner got there before its token or admin check, 401 or 403); an enabled admin
    always remains."""
    for _ in range(ADMIN_RACES):
        await session.exec(text("UPDATE users SET is_admin = false"))  # type: ignore[call-overload]
        await session.commit()
        first, second = await new_admin(client, session), await new_admin(client, session)
        one, other = removals
        calls = [(first, *one(first, second)), (second, *other(second, first))]
        responses = await asyncio.gather(
            *(
                client.request(method, path, json=body, headers=actor["headers"])
                for actor, method, path, body in calls
            )
        )
        statuses = [response.status_code for response in responses]
        assert sorted(status in (200, 204) for status in statuses) == [False, True], [
            response.text for response in responses
        ]
        for response in responses:
            assert response.status_code in (200, 204, 401, 403, 409), response.text
            if response.status_code == 409:
                assert response.json() == LAST_ADMIN
        assert len(await active_admins(session)) == 1
