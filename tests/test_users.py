"""Users through HTTP: POST /users, GET /users/me, PATCH /users/me, DELETE /users/me and
GET /users/{id}, as API.md describes them.

Login and token lifetimes (expiry, forgery, invalidation by a password change) live in
test_auth.py; here login is only used to check which email and password an account accepts.
"""

from datetime import datetime
from typing import Any

import pytest
from httpx import AsyncClient, Response

from tests.checks import assert_invalid, assert_unauthorized
from tests.factories import (
    DEFAULT_PASSWORD,
    auth_headers,
    bearer,
    create_post,
    create_user,
    login,
    new_account,
    unique_email,
    vote,
)

USER_ME_KEYS = {"id", "name", "email", "created_at", "is_admin"}
USER_PUBLIC_KEYS = {"id", "name", "created_at"}
MAX_ID = 2**31 - 1
NEW_PASSWORD = "a brand new passphrase"


# --- helpers ---------------------------------------------------------------------------


def assert_utc_timestamp(value: Any) -> None:
    assert isinstance(value, str)
    assert datetime.fromisoformat(value).utcoffset() is not None, value


def assert_user_me(body: Any, *, email: str, name: str | None, user_id: int | None = None) -> None:
    """A complete `UserMe`: exactly its four fields, nothing about the password."""
    assert set(body) == USER_ME_KEYS, body
    assert isinstance(body["id"], int) and body["id"] >= 1
    if user_id is not None:
        assert body["id"] == user_id
    assert (body["email"], body["name"]) == (email, name)
    assert_utc_timestamp(body["created_at"])


def public_view(user: dict[str, Any]) -> dict[str, Any]:
    """What `GET /users/{id}` must show of `user`: a `UserPublic`."""
    return {key: user[key] for key in USER_PUBLIC_KEYS}


def me_view(user: dict[str, Any]) -> dict[str, Any]:
    return {key: user[key] for key in USER_ME_KEYS}


def assert_no_secrets(response: Response, *passwords: str) -> None:
    assert "password" not in response.text
    assert "$2b$" not in response.text  # a bcrypt hash
    for password in passwords:
        assert password not in response.text


async def register(client: AsyncClient, **body: Any) -> Response:
    return await client.post("/users", json=body)


async def can_login(client: AsyncClient, email: str, password: str) -> bool:
    response = await client.post("/login", data={"username": email, "password": password})
    assert response.status_code in (200, 401), response.text
    return response.status_code == 200


async def patch_me(client: AsyncClient, user: dict[str, Any], **body: Any) -> Response:
    return await client.patch("/users/me", json=body, headers=user["headers"])


async def get_me(client: AsyncClient, user: dict[str, Any]) -> dict[str, Any]:
    response = await client.get("/users/me", headers=user["headers"])
    assert response.status_code == 200, response.text
    return response.json()


# --- POST /users -----------------------------------------------------------------------


async def test_register_returns_user_me(client: AsyncClient) -> None:
    email = unique_email()
    response = await register(client, email=email, password=DEFAULT_PASSWORD, name="Ada")
    assert response.status_code == 201, response.text
    assert_user_me(response.json(), email=email, name="Ada")
    assert_no_secrets(response, DEFAULT_PASSWORD)


async def test_register_without_name_gives_null_name(client: AsyncClient) -> None:
    email = unique_email()
    response = await register(client, email=email, password=DEFAULT_PASSWORD)
    assert response.status_code == 201, response.text
    assert_user_me(response.json(), email=email, name=None)


async def test_register_with_explicit_null_name(client: AsyncClient) -> None:
    email = unique_email()
    response = await register(client, email=email, password=DEFAULT_PASSWORD, name=None)
    assert response.status_code == 201, response.text
    assert_user_me(response.json(), email=email, name=None)


@pytest.mark.parametrize("name", ["A", "N" * 50, "Zoë Ünïcode"])
async def test_register_accepts_names_of_1_to_50_characters(client: AsyncClient, name: str) -> None:
    email = unique_email()
    response = await register(client, email=email, password=DEFAULT_PASSWORD, name=name)
    assert response.status_code == 201, response.text
    assert_user_me(response.json(), email=email, name=name)


@pytest.mark.parametrize("name", ["", "N" * 51])
async def test_register_refuses_names_of_0_or_51_characters(client: AsyncClient, name: str) -> None:
    response = await register(client, email=unique_email(), password=DEFAULT_PASSWORD, name=name)
    assert_invalid(response, ["body", "name"])


async def test_registered_users_get_distinct_ids(client: AsyncClient) -> None:
    first = await create_user(client)
    second = await create_user(client)
    assert first["id"] != second["id"]


async def test_register_same_email_twice_is_409(client: AsyncClient) -> None:
    user = await create_user(client)
    response = await register(client, email=user["email"], password="another password")
    assert response.status_code == 409
    assert response.json() == {"detail": "Email already registered"}


async def test_register_existing_email_in_other_letter_case_is_409(client: AsyncClient) -> None:
    await create_user(client, email="MixedCase@Example.com")
    for email in ("mixedcase@example.com", "MIXEDCASE@EXAMPLE.COM"):
        response = await register(client, email=email, password="another password")
        assert response.status_code == 409, response.text
        assert response.json() == {"detail": "Email already registered"}


# Non-ASCII letters in another case are the same address: `email_key` (app/models/users.py)
# case-folds the whole address in Python and stores it, so SQLite compares them as PostgreSQL does.
async def test_register_existing_non_ascii_email_in_other_letter_case_is_409(
    client: AsyncClient,
) -> None:
    await create_user(client, email="Élodie.Ünal@example.com")
    response = await register(client, email="élodie.ünal@example.com", password="other password")
    assert response.status_code == 409, response.text
    assert response.json() == {"detail": "Email already registered"}


async def test_login_with_a_non_ascii_email_in_other_letter_case(client: AsyncClient) -> None:
    await create_user(client, email="Élodie.Ünal@example.com")
    assert await can_login(client, "élodie.ünal@example.com", DEFAULT_PASSWORD)
    assert await can_login(client, "ÉLODIE.ÜNAL@EXAMPLE.COM", DEFAULT_PASSWORD)


async def test_refused_duplicate_leaves_the_first_account_as_it_was(client: AsyncClient) -> None:
    user = await create_user(client, email="first@example.com", name="First")
    response = await register(
        client, email="FIRST@example.com", password="the intruder's password", name="Intruder"
    )
    assert response.status_code == 409
    assert await can_login(client, "first@example.com", DEFAULT_PASSWORD)
    assert not await can_login(client, "first@example.com", "the intruder's password")
    me = await get_me(client, {"headers": await auth_headers(client, user)})
    assert me == me_view(user)


@pytest.mark.parametrize(
    "email",
    [
        "",
        "plainaddress",
        "no-at-sign.example.com",
        "user@",
        "@example.com",
        "user@@example.com",
        "two@at@example.com",
        "spaces in@example.com",
        "user@no-dot",
        "user@example..com",
    ],
)
async def test_register_refuses_bad_emails(client: AsyncClient, email: str) -> None:
    response = await register(client, email=email, password=DEFAULT_PASSWORD)
    assert_invalid(response, ["body", "email"])


@pytest.mark.parametrize("email", [None, 42, ["a@example.com"]])
async def test_register_refuses_an_email_that_is_not_a_string(
    client: AsyncClient, email: Any
) -> None:
    response = await register(client, email=email, password=DEFAULT_PASSWORD)
    assert_invalid(response, ["body", "email"])


@pytest.mark.parametrize("missing", ["email", "password"])
async def test_register_requires_email_and_password(client: AsyncClient, missing: str) -> None:
    body = {"email": unique_email(), "password": DEFAULT_PASSWORD, "name": "X"}
    del body[missing]
    response = await client.post("/users", json=body)
    assert_invalid(response, ["body", missing])
    assert response.json()["detail"][0]["type"] == "missing"


async def test_register_refuses_a_password_of_7_characters(client: AsyncClient) -> None:
    response = await register(client, email=unique_email(), password="1234567")
    assert_invalid(response, ["body", "password"])


async def test_register_accepts_a_password_of_exactly_8_characters(client: AsyncClient) -> None:
    user = await create_user(client, password="12345678")
    assert await can_login(client, user["email"], "12345678")


@pytest.mark.parametrize(
    "password",
    [
        "a" * 73,  # 73 characters, 73 bytes
        "€" * 25,  # 25 characters, 75 bytes
        "a" * 71 + "é",  # 72 characters, 73 bytes
    ],
)
async def test_register_refuses_passwords_over_72_bytes_in_utf8(
    client: AsyncClient, password: str
) -> None:
    response = await register(client, email=unique_email(), password=password)
    assert_invalid(response, ["body", "password"])


@pytest.mark.parametrize("password", ["a" * 72, "€" * 24, "a" * 70 + "é"])
async def test_register_accepts_passwords_of_72_bytes_and_they_log_in(
    client: AsyncClient, password: str
) -> None:
    user = await create_user(client, password=password)
    assert await can_login(client, user["email"], password)
    # bcrypt only sees 72 bytes: nothing longer may be silently cut to match.
    assert not await can_login(client, user["email"], password + "x")


async def test_login_after_register_works_with_any_case_of_the_email(client: AsyncClient) -> None:
    await create_user(client, email="CamelCase.User@Example.com")
    for email in (
        "CamelCase.User@Example.com",
        "camelcase.user@example.com",
        "CAMELCASE.USER@EXAMPLE.COM",
        "cAmElCaSe.UsEr@eXaMpLe.CoM",
    ):
        assert await can_login(client, email, DEFAULT_PASSWORD), email


async def test_register_keeps_the_local_part_as_typed(client: AsyncClient) -> None:
    response = await register(client, email="John.Smith@example.com", password=DEFAULT_PASSWORD)
    assert response.status_code == 201
    assert response.json()["email"] == "John.Smith@example.com"


# --- GET /users/me ---------------------------------------------------------------------


async def test_me_returns_the_callers_user_me(client: AsyncClient) -> None:
    user = await new_account(client, name="Grace")
    response = await client.get("/users/me", headers=user["headers"])
    assert response.status_code == 200
    assert response.json() == me_view(user)
    assert_user_me(response.json(), email=user["email"], name="Grace", user_id=user["id"])
    assert_no_secrets(response, user["password"])


async def test_me_is_the_caller_not_someone_else(client: AsyncClient) -> None:
    alice = await new_account(client, name="alice")
    bob = await new_account(client, name="bob")
    assert await get_me(client, alice) == me_view(alice)
    assert await get_me(client, bob) == me_view(bob)


async def test_me_without_token_is_401(client: AsyncClient) -> None:
    await new_account(client)
    assert_unauthorized(await client.get("/users/me"))


# --- GET /users/{id} -------------------------------------------------------------------


async def test_get_other_user_returns_user_public_without_email(client: AsyncClient) -> None:
    alice = await new_account(client, name="alice")
    bob = await create_user(client, name="bob")
    response = await client.get(f"/users/{bob['id']}", headers=alice["headers"])
    assert response.status_code == 200
    assert response.json() == public_view(bob)
    assert bob["email"] not in response.text
    assert_no_secrets(response, bob["password"])


async def test_get_self_by_id_returns_user_public_without_email(client: AsyncClient) -> None:
    alice = await new_account(client)
    response = await client.get(f"/users/{alice['id']}", headers=alice["headers"])
    assert response.status_code == 200
    assert response.json() == public_view(alice)
    assert response.json()["name"] is None
    assert alice["email"] not in response.text


@pytest.mark.parametrize("offset", [1, 1000])
async def test_get_unknown_user_is_404(client: AsyncClient, offset: int) -> None:
    alice = await new_account(client)
    response = await client.get(f"/users/{alice['id'] + offset}", headers=alice["headers"])
    assert response.status_code == 404
    assert response.json() == {"detail": "User not found"}


async def test_get_user_with_the_largest_id_is_404_not_422(client: AsyncClient) -> None:
    alice = await new_account(client)
    response = await client.get(f"/users/{MAX_ID}", headers=alice["headers"])
    assert response.status_code == 404
    assert response.json() == {"detail": "User not found"}


@pytest.mark.parametrize("user_id", ["0", "-1", str(MAX_ID + 1), "99999999999999999999", "abc"])
async def test_get_user_with_an_id_out_of_range_is_422(client: AsyncClient, user_id: str) -> None:
    alice = await new_account(client)
    response = await client.get(f"/users/{user_id}", headers=alice["headers"])
    assert_invalid(response, ["path", "user_id"])


async def test_get_user_without_token_is_401(client: AsyncClient) -> None:
    alice = await create_user(client)
    assert_unauthorized(await client.get(f"/users/{alice['id']}"))


# --- PATCH /users/me: name -------------------------------------------------------------


async def test_patch_name_needs_no_current_password(client: AsyncClient) -> None:
    user = await new_account(client, name="Old name")
    response = await patch_me(client, user, name="New name")
    assert response.status_code == 200, response.text
    assert response.json() == {**me_view(user), "name": "New name"}
    assert await get_me(client, user) == {**me_view(user), "name": "New name"}


async def test_patch_name_shows_in_the_public_profile(client: AsyncClient) -> None:
    user = await new_account(client)
    other = await new_account(client)
    assert (await patch_me(client, user, name="Renamed")).status_code == 200
    response = await client.get(f"/users/{user['id']}", headers=other["headers"])
    assert response.json() == {**public_view(user), "name": "Renamed"}


async def test_patch_name_null_clears_it(client: AsyncClient) -> None:
    user = await new_account(client, name="Has a name")
    response = await patch_me(client, user, name=None)
    assert response.status_code == 200, response.text
    assert response.json() == {**me_view(user), "name": None}
    assert (await get_me(client, user))["name"] is None


@pytest.mark.parametrize("name", ["", "N" * 51])
async def test_patch_name_of_0_or_51_characters_is_422(client: AsyncClient, name: str) -> None:
    user = await new_account(client, name="Kept")
    assert_invalid(await patch_me(client, user, name=name), ["body", "name"])
    assert (await get_me(client, user))["name"] == "Kept"


async def test_patch_name_of_50_characters_is_accepted(client: AsyncClient) -> None:
    user = await new_account(client)
    response = await patch_me(client, user, name="N" * 50)
    assert response.status_code == 200
    assert response.json()["name"] == "N" * 50


async def test_patch_with_empty_body_changes_nothing(client: AsyncClient) -> None:
    user = await new_account(client, name="Same")
    response = await patch_me(client, user)
    assert response.status_code == 200
    assert response.json() == me_view(user)


async def test_patch_name_keeps_email_and_password(client: AsyncClient) -> None:
    user = await new_account(client, name="Before")
    assert (await patch_me(client, user, name="After")).status_code == 200
    assert await can_login(client, user["email"], user["password"])


async def test_patch_without_token_is_401(client: AsyncClient) -> None:
    await new_account(client)
    assert_unauthorized(await client.patch("/users/me", json={"name": "x"}))


# --- PATCH /users/me: email ------------------------------------------------------------


async def test_patch_email_with_the_right_current_password(client: AsyncClient) -> None:
    user = await new_account(client, name="Mover")
    new_email = unique_email("moved")
    response = await patch_me(client, user, email=new_email, current_password=user["password"])
    assert response.status_code == 200, response.text
    assert response.json() == {**me_view(user), "email": new_email}
    assert_no_secrets(response, user["password"])
    assert await can_login(client, new_email, user["password"])
    assert not await can_login(client, user["email"], user["password"])


async def test_patch_email_without_current_password_is_422(client: AsyncClient) -> None:
    user = await new_account(client)
    response = await patch_me(client, user, email=unique_email())
    assert_invalid(response, ["body", "current_password"])
    assert (await get_me(client, user))["email"] == user["email"]


async def test_patch_email_with_empty_current_password_is_422(client: AsyncClient) -> None:
    user = await new_account(client)
    response = await patch_me(client, user, email=unique_email(), current_password="")
    assert_invalid(response, ["body", "current_password"])


async def test_patch_email_with_null_current_password_is_422(client: AsyncClient) -> None:
    user = await new_account(client)
    response = await patch_me(client, user, email=unique_email(), current_password=None)
    assert_invalid(response, ["body", "current_password"])


async def test_patch_email_with_a_wrong_current_password_is_403(client: AsyncClient) -> None:
    user = await new_account(client)
    new_email = unique_email()
    response = await patch_me(client, user, email=new_email, current_password="wrong password")
    assert response.status_code == 403
    assert response.json() == {"detail": "Current password is incorrect"}
    assert await get_me(client, user) == me_view(user)
    assert not await can_login(client, new_email, user["password"])


async def test_patch_email_taken_by_another_user_in_other_case_is_409(
    client: AsyncClient,
) -> None:
    await create_user(client, email="taken@example.com")
    user = await new_account(client)
    for email in ("taken@example.com", "TAKEN@Example.COM"):
        response = await patch_me(client, user, email=email, current_password=user["password"])
        assert response.status_code == 409, response.text
        assert response.json() == {"detail": "Email already registered"}
    assert await get_me(client, user) == me_view(user)
    assert await can_login(client, "taken@example.com", DEFAULT_PASSWORD)
    assert not await can_login(client, "taken@example.com", "wrong password")


async def test_patch_conflict_changes_nothing_else(client: AsyncClient) -> None:
    await create_user(client, email="occupied@example.com")
    user = await new_account(client, name="Unchanged")
    response = await patch_me(
        client,
        user,
        name="Changed",
        email="Occupied@example.com",
        password=NEW_PASSWORD,
        current_password=user["password"],
    )
    assert response.status_code == 409
    assert await get_me(client, user) == me_view(user)
    assert await can_login(client, user["email"], user["password"])
    assert not await can_login(client, user["email"], NEW_PASSWORD)


async def test_patch_own_email_in_other_case_is_fine(client: AsyncClient) -> None:
    user = await new_account(client)
    assert user["email"].islower()
    upper = user["email"].upper()
    response = await patch_me(client, user, email=upper, current_password=user["password"])
    assert response.status_code == 200, response.text
    assert response.json()["id"] == user["id"]
    assert response.json()["email"].lower() == user["email"]
    assert await can_login(client, user["email"], user["password"])
    assert await can_login(client, upper, user["password"])


@pytest.mark.parametrize("email", ["not-an-email", "user@", "", 42])
async def test_patch_bad_email_is_422(client: AsyncClient, email: Any) -> None:
    user = await new_account(client)
    response = await patch_me(client, user, email=email, current_password=user["password"])
    assert_invalid(response, ["body", "email"])


@pytest.mark.parametrize("field", ["email", "password"])
async def test_patch_explicit_null_email_or_password_is_422(
    client: AsyncClient, field: str
) -> None:
    user = await new_account(client)
    response = await patch_me(client, user, **{field: None}, current_password=user["password"])
    assert_invalid(response, ["body", field])
    assert await get_me(client, user) == me_view(user)
    assert await can_login(client, user["email"], user["password"])


# --- PATCH /users/me: password ---------------------------------------------------------


async def test_patch_password_with_the_right_current_password(client: AsyncClient) -> None:
    user = await new_account(client, name="Keeper")
    response = await patch_me(
        client, user, password=NEW_PASSWORD, current_password=user["password"]
    )
    assert response.status_code == 200, response.text
    assert response.json() == me_view(user)
    assert_no_secrets(response, user["password"], NEW_PASSWORD)
    assert await can_login(client, user["email"], NEW_PASSWORD)
    assert not await can_login(client, user["email"], user["password"])


async def test_patch_password_then_a_new_login_works(client: AsyncClient) -> None:
    user = await new_account(client)
    response = await patch_me(
        client, user, password=NEW_PASSWORD, current_password=user["password"]
    )
    assert response.status_code == 200
    headers = bearer(await login(client, user["email"], NEW_PASSWORD))
    assert await get_me(client, {"headers": headers}) == me_view(user)


async def test_patch_password_without_current_password_is_422(client: AsyncClient) -> None:
    user = await new_account(client)
    response = await patch_me(client, user, password=NEW_PASSWORD)
    assert_invalid(response, ["body", "current_password"])
    assert await can_login(client, user["email"], user["password"])
    assert not await can_login(client, user["email"], NEW_PASSWORD)


async def test_patch_password_with_a_wrong_current_password_is_403(client: AsyncClient) -> None:
    user = await new_account(client)
    response = await patch_me(client, user, password=NEW_PASSWORD, current_password="not it!!")
    assert response.status_code == 403
    assert response.json() == {"detail": "Current password is incorrect"}
    assert await can_login(client, user["email"], user["password"])
    assert not await can_login(client, user["email"], NEW_PASSWORD)


@pytest.mark.parametrize("password", ["1234567", "a" * 73, "€" * 25])
async def test_patch_password_too_short_or_too_long_is_422(
    client: AsyncClient, password: str
) -> None:
    user = await new_account(client)
    response = await patch_me(client, user, password=password, current_password=user["password"])
    assert_invalid(response, ["body", "password"])
    assert await can_login(client, user["email"], user["password"])


@pytest.mark.parametrize("password", ["12345678", "€" * 24])
async def test_patch_password_of_8_characters_or_72_bytes_is_accepted(
    client: AsyncClient, password: str
) -> None:
    user = await new_account(client)
    response = await patch_me(client, user, password=password, current_password=user["password"])
    assert response.status_code == 200, response.text
    assert await can_login(client, user["email"], password)


async def test_patch_email_and_password_together(client: AsyncClient) -> None:
    user = await new_account(client)
    new_email = unique_email("both")
    response = await patch_me(
        client, user, email=new_email, password=NEW_PASSWORD, current_password=user["password"]
    )
    assert response.status_code == 200, response.text
    assert response.json() == {**me_view(user), "email": new_email}
    assert await can_login(client, new_email, NEW_PASSWORD)
    assert not await can_login(client, new_email, user["password"])
    assert not await can_login(client, user["email"], user["password"])


# --- DELETE /users/me ------------------------------------------------------------------


async def test_delete_me_is_204_with_an_empty_body(client: AsyncClient) -> None:
    user = await new_account(client)
    response = await client.delete("/users/me", headers=user["headers"])
    assert response.status_code == 204
    assert response.content == b""


async def test_deleted_users_token_gets_401(client: AsyncClient) -> None:
    user = await new_account(client)
    assert (await client.delete("/users/me", headers=user["headers"])).status_code == 204
    assert_unauthorized(await client.get("/users/me", headers=user["headers"]))
    assert_unauthorized(await client.delete("/users/me", headers=user["headers"]))


async def test_deleted_user_cannot_log_in(client: AsyncClient) -> None:
    user = await new_account(client)
    assert (await client.delete("/users/me", headers=user["headers"])).status_code == 204
    assert not await can_login(client, user["email"], user["password"])


async def test_deleted_user_is_404_to_others(client: AsyncClient) -> None:
    gone = await new_account(client)
    other = await new_account(client)
    assert (await client.delete("/users/me", headers=gone["headers"])).status_code == 204
    response = await client.get(f"/users/{gone['id']}", headers=other["headers"])
    assert response.status_code == 404
    assert response.json() == {"detail": "User not found"}


async def test_deleted_users_posts_are_gone(client: AsyncClient) -> None:
    gone = await new_account(client)
    other = await new_account(client)
    posts = [
        await create_post(client, gone["headers"], title="published"),
        await create_post(client, gone["headers"], title="draft", published=False),
    ]
    kept = await create_post(client, other["headers"], title="kept")
    assert (await client.delete("/users/me", headers=gone["headers"])).status_code == 204

    for post in posts:
        response = await client.get(f"/posts/{post['id']}", headers=other["headers"])
        assert response.status_code == 404
        assert response.json() == {"detail": "Post not found"}
    listed = await client.get("/posts", headers=other["headers"])
    assert [post["id"] for post in listed.json()] == [kept["id"]]


async def test_deleted_users_votes_are_gone(client: AsyncClient) -> None:
    gone = await new_account(client)
    author = await new_account(client)
    fan = await new_account(client)
    post = await create_post(client, author["headers"])
    await vote(client, gone["headers"], post["id"])
    await vote(client, fan["headers"], post["id"])
    before = await client.get(f"/posts/{post['id']}", headers=author["headers"])
    assert before.json()["votes"] == 2

    assert (await client.delete("/users/me", headers=gone["headers"])).status_code == 204

    after = await client.get(f"/posts/{post['id']}", headers=author["headers"])
    assert after.status_code == 200
    assert (after.json()["votes"], after.json()["voted"]) == (1, False)
    listed = await client.get("/posts", headers=fan["headers"])
    assert [(p["id"], p["votes"], p["voted"]) for p in listed.json()] == [(post["id"], 1, True)]


async def test_deleting_a_user_leaves_other_users_untouched(client: AsyncClient) -> None:
    gone = await new_account(client, name="gone")
    stays = await new_account(client, name="stays")
    post = await create_post(client, stays["headers"], title="still here")
    await vote(client, stays["headers"], post["id"])
    await create_post(client, gone["headers"])
    assert (await client.delete("/users/me", headers=gone["headers"])).status_code == 204

    assert await get_me(client, stays) == me_view(stays)
    assert await can_login(client, stays["email"], stays["password"])
    response = await client.get(f"/posts/{post['id']}", headers=stays["headers"])
    assert response.status_code == 200
    assert response.json() == {**post, "votes": 1, "voted": True}


async def test_deleted_users_email_can_register_again(client: AsyncClient) -> None:
    gone = await new_account(client)
    assert (await client.delete("/users/me", headers=gone["headers"])).status_code == 204
    await create_user(client, email=gone["email"].upper(), password=NEW_PASSWORD)
    assert await can_login(client, gone["email"], NEW_PASSWORD)
    assert not await can_login(client, gone["email"], gone["password"])


async def test_a_deleted_users_id_is_not_given_to_a_later_account(client: AsyncClient) -> None:
    gone = await new_account(client)
    other = await new_account(client)
    assert (await client.delete("/users/me", headers=gone["headers"])).status_code == 204
    # The newest account: the one whose id a database might hand out again.
    newest = await new_account(client)
    assert (await client.delete("/users/me", headers=newest["headers"])).status_code == 204
    later = await create_user(client)
    assert later["id"] not in (gone["id"], newest["id"])
    # Links to the deleted accounts keep naming nobody.
    for user_id in (gone["id"], newest["id"]):
        response = await client.get(f"/users/{user_id}", headers=other["headers"])
        assert response.status_code == 404


async def test_delete_me_without_token_is_401(client: AsyncClient) -> None:
    user = await new_account(client)
    assert_unauthorized(await client.delete("/users/me"))
    assert await get_me(client, user) == me_view(user)
