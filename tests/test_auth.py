"""POST /login (OAuth2 password flow) and the access tokens it issues.

Logins give a token pair: an HS256 JWT with `sub`, `sid` (the session), `iat` and `exp`, and a
refresh token; failures are one indistinguishable 401. Protected endpoints refuse, with 401 and
`WWW-Authenticate: Bearer`, every token that is missing, malformed, forged, expired, or whose
session has ended (its user gone, a password change, a logout). Sessions: test_sessions.py.
"""

import asyncio
import base64
import json
import time
import warnings
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from httpx import AsyncClient
from jwt.warnings import InsecureKeyLengthWarning

from app.core.config import settings
from tests.checks import assert_unauthorized
from tests.factories import bearer, create_post, create_user, login, new_account

PROTECTED = ["/users/me", "/posts"]
INCORRECT = {"detail": "Incorrect email or password"}


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _segment(obj: dict[str, Any]) -> str:
    return _b64url(json.dumps(obj, separators=(",", ":")).encode())


def _claims(sub: str, sid: Any, *, age: float = 0) -> dict[str, Any]:
    """Fresh, valid-looking claims (`age` seconds old) for user `sub` in session `sid`."""
    now = int(time.time() - age)
    lifetime = settings.ACCESS_TOKEN_EXPIRE_MINUTES * 60
    return {"sub": sub, "sid": sid, "iat": now, "exp": now + lifetime}


def _sign(claims: dict[str, Any], key: str = settings.SECRET_KEY, algorithm: str = "HS256") -> str:
    with warnings.catch_warnings():
        # The test key is shorter than pyjwt recommends for HS384; irrelevant here.
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        return jwt.encode(claims, key, algorithm=algorithm)


def _unsigned(claims: dict[str, Any]) -> str:
    """An `alg: none` token, built by hand: header.payload. with an empty signature."""
    return f"{_segment({'alg': 'none', 'typ': 'JWT'})}.{_segment(claims)}."


def _payload(token: str) -> dict[str, Any]:
    segment = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def _tampered(token: str, sub: str) -> str:
    """The token with `sub` replaced in its payload and the original signature kept."""
    header, _, signature = token.split(".")
    return f"{header}.{_segment({**_payload(token), 'sub': sub})}.{signature}"


def _sid(token: str) -> int:
    return int(_payload(token)["sid"])


def _without(claim: str, sub: str, real: str) -> str:
    claims = _claims(sub, _sid(real))
    del claims[claim]
    return _sign(claims)


async def _failed_login(client: AsyncClient, username: str, password: str) -> tuple[Any, ...]:
    response = await client.post("/login", data={"username": username, "password": password})
    return response.status_code, response.json(), response.headers.get("www-authenticate")


# --- logging in --------------------------------------------------------------------------


async def test_login_returns_a_bearer_token(client: AsyncClient) -> None:
    user = await create_user(client)
    response = await client.post(
        "/login", data={"username": user["email"], "password": user["password"]}
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == settings.ACCESS_TOKEN_EXPIRE_MINUTES * 60 == 15 * 60  # default
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == body["expires_in"]
    # Opaque: not a JWT, and at least 256 random bits (43 characters of URL-safe base64).
    assert "." not in body["refresh_token"] and len(body["refresh_token"]) >= 43
    assert response.headers["cache-control"] == "no-store"
    me = await client.get("/users/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200 and me.json()["id"] == user["id"]


async def test_login_email_is_case_insensitive(client: AsyncClient) -> None:
    user = await create_user(client, email="Alice.Smith@Example.com")
    token = await login(client, "aLICE.sMITH@example.COM", user["password"])
    me = await client.get("/users/me", headers=bearer(token))
    assert me.json()["id"] == user["id"]


async def test_login_accepts_the_grant_type_swagger_sends(client: AsyncClient) -> None:
    user = await create_user(client)
    response = await client.post(
        "/login",
        data={"grant_type": "password", "username": user["email"], "password": user["password"]},
    )
    assert response.status_code == 200, response.text


async def test_login_refuses_a_grant_type_other_than_password(client: AsyncClient) -> None:
    # FastAPI's OAuth2PasswordRequestForm convention: grant_type, when sent, must be "password".
    user = await create_user(client)
    response = await client.post(
        "/login",
        data={
            "grant_type": "client_credentials",
            "username": user["email"],
            "password": user["password"],
        },
    )
    assert response.status_code == 422, response.text


# --- the token ---------------------------------------------------------------------------


async def test_token_is_an_hs256_jwt_with_sub_sid_iat_and_exp(client: AsyncClient) -> None:
    user = await create_user(client)
    before = time.time()
    token = await login(client, user["email"], user["password"])

    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    claims = jwt.decode(token, settings.SECRET_KEY, algorithms=["HS256"])
    assert set(claims) == {"sub", "sid", "iat", "exp"}
    assert claims["sub"] == str(user["id"])
    sessions = (await client.get("/sessions", headers=bearer(token))).json()
    assert [session["id"] for session in sessions] == [claims["sid"]]
    assert before - 1 <= claims["iat"] <= time.time() + 1
    assert claims["exp"] - claims["iat"] == settings.ACCESS_TOKEN_EXPIRE_MINUTES * 60


async def test_token_carries_no_email_or_password(client: AsyncClient) -> None:
    user = await create_user(client, email="private.person@example.com")
    token = await login(client, user["email"], user["password"])
    claims = _payload(token)
    assert not {"email", "password", "hashed_password"} & set(claims)
    text = json.dumps(claims)
    assert "private.person" not in text
    assert user["password"] not in text


# --- failed logins -----------------------------------------------------------------------


async def test_unknown_email_and_wrong_password_get_the_same_401(client: AsyncClient) -> None:
    user = await create_user(client)
    unknown = await _failed_login(client, "nobody@example.com", user["password"])
    wrong = await _failed_login(client, user["email"], "not-the-password")
    assert unknown == wrong == (401, INCORRECT, "Bearer")


async def test_password_over_72_bytes_at_login_is_a_401_not_a_500(client: AsyncClient) -> None:
    user = await create_user(client)
    for password in (user["password"] + "x" * 72, "é" * 40, "x" * 1000):
        assert len(password.encode()) > 72
        assert await _failed_login(client, user["email"], password) == (401, INCORRECT, "Bearer")


@pytest.mark.parametrize(
    "form",
    [
        {"password": "some-password"},
        {"username": "someone@example.com"},
        {},
    ],
    ids=["no-username", "no-password", "empty"],
)
async def test_login_with_missing_fields_is_422(client: AsyncClient, form: dict[str, str]) -> None:
    response = await client.post("/login", data=form)
    assert response.status_code == 422
    assert isinstance(response.json()["detail"], list)


async def test_login_with_a_json_body_instead_of_a_form_is_422(client: AsyncClient) -> None:
    user = await create_user(client)
    response = await client.post(
        "/login", json={"username": user["email"], "password": user["password"]}
    )
    assert response.status_code == 422
    assert isinstance(response.json()["detail"], list)


# --- refused tokens ----------------------------------------------------------------------

# Each builder gets a live user's id, a token the service issued for that user and another live
# user's id, so that only the defect under test can be the reason for the refusal.
TokenBuilder = Callable[[str, str, str], str]
BAD_TOKENS: dict[str, TokenBuilder] = {
    "garbage": lambda sub, real, other: "garbage",
    "alg-none": lambda sub, real, other: _unsigned(_claims(sub, _sid(real))),
    "alg-none-with-real-signature": lambda sub, real, other: (
        f"{_segment({'alg': 'none', 'typ': 'JWT'})}.{real.split('.', 1)[1]}"
    ),
    "hs384-right-secret": lambda sub, real, other: _sign(
        _claims(sub, _sid(real)), algorithm="HS384"
    ),
    "hs256-wrong-secret": lambda sub, real, other: _sign(
        _claims(sub, _sid(real)), key="another-secret-key-that-is-long-enough-for-hs256"
    ),
    "tampered-sub": lambda sub, real, other: _tampered(real, other),
    "expired": lambda sub, real, other: _sign(
        _claims(sub, _sid(real), age=settings.ACCESS_TOKEN_EXPIRE_MINUTES * 60 + 60)
    ),
    "no-sub": lambda sub, real, other: _without("sub", sub, real),
    "no-sid": lambda sub, real, other: _without("sid", sub, real),
    "no-iat": lambda sub, real, other: _without("iat", sub, real),
    "no-exp": lambda sub, real, other: _without("exp", sub, real),
    "sub-zero": lambda sub, real, other: _sign(_claims("0", _sid(real))),
    "sub-negative": lambda sub, real, other: _sign(_claims("-1", _sid(real))),
    "sub-not-a-number": lambda sub, real, other: _sign(_claims("abc", _sid(real))),
    "sub-out-of-range": lambda sub, real, other: _sign(_claims("99999999999", _sid(real))),
    "sub-unknown-user": lambda sub, real, other: _sign(_claims(str(int(sub) + 1000), _sid(real))),
    # A real session, but another user's: a session is its user's only.
    "sub-of-another-user": lambda sub, real, other: _sign(_claims(other, _sid(real))),
    "sid-unknown": lambda sub, real, other: _sign(_claims(sub, _sid(real) + 1000)),
    "sid-not-a-number": lambda sub, real, other: _sign(_claims(sub, "abc")),
    "sid-true": lambda sub, real, other: _sign(_claims(sub, True)),
    "sid-out-of-range": lambda sub, real, other: _sign(_claims(sub, 2**31)),
}


async def test_a_hand_made_token_with_the_right_key_and_claims_works(
    client: AsyncClient,
) -> None:
    """The control for the refusals below: the forgeries fail only because of their defect."""
    user = await new_account(client)
    real = user["headers"]["Authorization"].removeprefix("Bearer ")
    token = _sign(_claims(str(user["id"]), _sid(real)))
    response = await client.get("/users/me", headers=bearer(token))
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("path", PROTECTED)
async def test_no_authorization_header_is_401(client: AsyncClient, path: str) -> None:
    assert_unauthorized(await client.get(path))


@pytest.mark.parametrize("path", PROTECTED)
async def test_basic_scheme_is_401(client: AsyncClient, path: str) -> None:
    user = await create_user(client)
    credentials = base64.b64encode(f"{user['email']}:{user['password']}".encode()).decode()
    for value in ("Basic xxx", f"Basic {credentials}"):
        assert_unauthorized(await client.get(path, headers={"Authorization": value}))


@pytest.mark.parametrize("path", PROTECTED)
@pytest.mark.parametrize("kind", list(BAD_TOKENS))
async def test_bad_token_is_401(client: AsyncClient, path: str, kind: str) -> None:
    other = await create_user(client)
    user = await new_account(client)
    real = user["headers"]["Authorization"].removeprefix("Bearer ")
    token = BAD_TOKENS[kind](str(user["id"]), real, str(other["id"]))
    assert_unauthorized(await client.get(path, headers=bearer(token)))


async def test_a_token_that_worked_stops_working_when_it_expires(client: AsyncClient) -> None:
    # Verified tokens are remembered (app.security): the expiry must still count on each use.
    user = await new_account(client)
    real = user["headers"]["Authorization"].removeprefix("Bearer ")
    now = time.time()
    token = _sign({"sub": str(user["id"]), "sid": _sid(real), "iat": int(now), "exp": now + 1.5})
    for path in PROTECTED:
        response = await client.get(path, headers=bearer(token))
        assert response.status_code == 200, response.text
    await asyncio.sleep(2)
    for path in PROTECTED:
        assert_unauthorized(await client.get(path, headers=bearer(token)))


# --- tokens outliving their session: a deleted user, a password change -------------------


async def test_token_of_a_deleted_user_is_401(client: AsyncClient) -> None:
    user = await new_account(client)
    assert (await client.delete("/users/me", headers=user["headers"])).status_code == 204
    for path in PROTECTED:
        assert_unauthorized(await client.get(path, headers=user["headers"]))


async def test_token_of_a_deleted_user_does_not_open_the_next_account(
    client: AsyncClient,
) -> None:
    # Even if the database hands the freed id to the next sign-up, the old token stays dead.
    user = await new_account(client)
    assert (await client.delete("/users/me", headers=user["headers"])).status_code == 204
    await create_user(client)
    assert_unauthorized(await client.get("/users/me", headers=user["headers"]))


async def _change_password(client: AsyncClient, user: dict[str, Any], new: str) -> None:
    response = await client.patch(
        "/users/me",
        json={"password": new, "current_password": user["password"]},
        headers=user["headers"],
    )
    assert response.status_code == 200, response.text


async def test_password_change_invalidates_earlier_tokens(client: AsyncClient) -> None:
    user = await new_account(client)
    await _change_password(client, user, "a brand new password")
    for path in PROTECTED:
        assert_unauthorized(await client.get(path, headers=user["headers"]))
    assert await _failed_login(client, user["email"], user["password"]) == (
        401,
        INCORRECT,
        "Bearer",
    )


async def test_login_in_the_same_second_as_a_password_change_works(client: AsyncClient) -> None:
    user = await new_account(client)
    if time.time() % 1 > 0.5:  # start early in a second, so change and login share it
        await asyncio.sleep(1 - time.time() % 1)
    changed_at = int(time.time())
    await _change_password(client, user, "a brand new password")
    token = await login(client, user["email"], "a brand new password")
    assert jwt.decode(token, options={"verify_signature": False})["iat"] == changed_at

    for path in PROTECTED:
        assert (await client.get(path, headers=bearer(token))).status_code == 200
        # ... and the new login did not bring the old token back.
        assert_unauthorized(await client.get(path, headers=user["headers"]))


async def test_email_change_keeps_the_user_logged_in(client: AsyncClient) -> None:
    user = await new_account(client)
    response = await client.patch(
        "/users/me",
        json={"email": "renamed@example.com", "current_password": user["password"]},
        headers=user["headers"],
    )
    assert response.status_code == 200, response.text
    me = await client.get("/users/me", headers=user["headers"])
    assert me.status_code == 200
    assert me.json()["email"] == "renamed@example.com"
    await login(client, "renamed@example.com", user["password"])


# The feed and single-post reads check the token inside their one SQL statement: a revoked
# token must still be a 401 there, whatever the statement finds (posts, no posts, a draft).


async def _reads(client: AsyncClient) -> list[str]:
    author = await new_account(client)
    public = await create_post(client, author["headers"], title="Findable public")
    draft = await create_post(client, author["headers"], title="Findable draft", published=False)
    return [
        "/posts",
        "/posts?search=findable",
        "/posts?search=nothing-matches-this",
        f"/posts?skip={10**6}",
        f"/posts/{public['id']}",
        f"/posts/{draft['id']}",
        "/posts/2147483647",
    ]


async def test_reads_refuse_a_deleted_users_token(client: AsyncClient) -> None:
    paths = await _reads(client)
    user = await new_account(client)
    assert (await client.delete("/users/me", headers=user["headers"])).status_code == 204
    for path in paths:
        assert_unauthorized(await client.get(path, headers=user["headers"]))


async def test_reads_refuse_a_token_from_before_logout_all(client: AsyncClient) -> None:
    paths = await _reads(client)
    user = await new_account(client)
    assert (await client.post("/logout-all", headers=user["headers"])).status_code == 204
    for path in paths:
        assert_unauthorized(await client.get(path, headers=user["headers"]))
    fresh = bearer(await login(client, user["email"], user["password"]))
    for path in paths[:2]:
        assert (await client.get(path, headers=fresh)).status_code == 200
