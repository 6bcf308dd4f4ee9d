"""Plain async helpers that go through the HTTP API, as a client would (admins excepted: they
are made on the command line)."""

import itertools
from typing import Any

from httpx import AsyncClient, Response

from app.db.engine import SessionFactory
from app.services.admin import set_admin

DEFAULT_PASSWORD = "correct horse battery"
_counter = itertools.count(1)


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}{next(_counter)}@example.com"


async def create_user(
    client: AsyncClient,
    email: str | None = None,
    password: str = DEFAULT_PASSWORD,
    name: str | None = None,
) -> dict[str, Any]:
    """Register a user; returns the `UserMe` body plus its `password`."""
    body: dict[str, Any] = {"email": email or unique_email(), "password": password}
    if name is not None:
        body["name"] = name
    response = await client.post("/users", json=body)
    assert response.status_code == 201, response.text
    return {**response.json(), "password": password}


async def try_login(client: AsyncClient, email: str, password: str = DEFAULT_PASSWORD) -> Response:
    """`POST /login` as Swagger and OAuth2 clients send it (a form), whatever the outcome."""
    return await client.post("/login", data={"username": email, "password": password})


async def login(client: AsyncClient, email: str, password: str = DEFAULT_PASSWORD) -> str:
    response = await try_login(client, email, password)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def auth_headers(client: AsyncClient, user: dict[str, Any]) -> dict[str, str]:
    return bearer(await login(client, user["email"], user["password"]))


async def new_account(client: AsyncClient, name: str | None = None) -> dict[str, Any]:
    """A registered, logged-in user: the `UserMe` body plus `password` and `headers`."""
    user = await create_user(client, name=name)
    return {**user, "headers": await auth_headers(client, user)}


async def create_post(
    client: AsyncClient, headers: dict[str, str], **fields: Any
) -> dict[str, Any]:
    body = {"title": "A title", "content": "Some content", **fields}
    response = await client.post("/posts", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def vote(
    client: AsyncClient, headers: dict[str, str], post_id: int, direction: int = 1
) -> None:
    response = await client.post(
        "/vote", json={"post_id": post_id, "dir": direction}, headers=headers
    )
    assert response.status_code == (201 if direction else 200), response.text


async def create_comment(
    client: AsyncClient, headers: dict[str, str], post_id: int, body: str = "A comment"
) -> dict[str, Any]:
    response = await client.post(f"/posts/{post_id}/comments", json={"body": body}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def make_admin(user: dict[str, Any]) -> None:
    """Admins are made on the command line (app.admin): the same service, on its own session."""
    async with SessionFactory() as session:
        await set_admin(session, user["email"], is_admin=True)
