"""Writes racing the deletion of their target (the post) or of their caller (the account).

Every pair of (write endpoint, deletion of its target or of its caller) is sent at the same
moment, with real commits on separate connections, REPEATS times each (they are timing games),
on PostgreSQL and on SQLite. The contract (API.md, "Field rules"): never a 5xx; the write
succeeds, or gets 404 (the post is gone) or 401 (the account is gone); and the database stays
consistent: no row refers to a deleted one, every post's vote count is its number of votes.
"""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from httpx import AsyncClient, Response
from sqlalchemy import text

from app.db.engine import engine
from tests.factories import DEFAULT_PASSWORD, create_post, new_account, vote

REPEATS = 10
WRITERS = 3  # concurrent copies of the write, as a client retrying or a double click sends them
POST = {"title": "Racing", "content": "against a deletion"}


@dataclass
class Scene:
    """An author with a post, and a voter who has voted for it."""

    client: AsyncClient
    author: dict[str, Any]
    voter: dict[str, Any]
    post_id: int


async def scene(client: AsyncClient) -> Scene:
    author = await new_account(client)
    voter = await new_account(client)
    post = await create_post(client, author["headers"])
    await vote(client, voter["headers"], post["id"])
    return Scene(client, author, voter, post["id"])


Request = Callable[[Scene], Awaitable[Response]]


def as_author(method: str, path: str, **kwargs: Any) -> Request:
    return lambda s: s.client.request(
        method, path.format(post=s.post_id), headers=s.author["headers"], **kwargs
    )


def as_voter(method: str, path: str, **kwargs: Any) -> Request:
    return lambda s: s.client.request(
        method, path.format(post=s.post_id), headers=s.voter["headers"], **kwargs
    )


def vote_as_voter(direction: int) -> Request:
    return lambda s: s.client.post(
        "/vote", json={"post_id": s.post_id, "dir": direction}, headers=s.voter["headers"]
    )


CHANGE_PASSWORD = {"password": "another password", "current_password": DEFAULT_PASSWORD}
CHANGE_EMAIL = {"current_password": DEFAULT_PASSWORD}  # plus a fresh address, in `writes`

# write: (request, statuses it may get besides 401 and 404)
WRITES: dict[str, tuple[Request, set[int]]] = {
    "PUT /posts/{id}": (as_author("PUT", "/posts/{post}", json=POST), {200}),
    "PATCH /posts/{id}": (as_author("PATCH", "/posts/{post}", json={"title": "New"}), {200}),
    "DELETE /posts/{id}": (as_author("DELETE", "/posts/{post}"), {204}),
    "POST /vote dir 1 (again)": (vote_as_voter(1), {409}),
    "POST /vote dir 0": (vote_as_voter(0), {200}),
    "POST /posts": (as_author("POST", "/posts", json=POST), {201}),
    "POST /posts/batch": (as_author("POST", "/posts/batch", json=[POST, POST]), {201}),
    "PATCH /users/me name": (as_author("PATCH", "/users/me", json={"name": "New"}), {200}),
    "PATCH /users/me password": (as_author("PATCH", "/users/me", json=CHANGE_PASSWORD), {200}),
    "POST /logout-all": (as_author("POST", "/logout-all"), {204}),
    "POST /logout": (as_author("POST", "/logout"), {204}),
    "DELETE /users/me": (as_author("DELETE", "/users/me"), {204}),
}
# Writes by the voter race the voter's account; the others, the author's.
VOTER_WRITES = {"POST /vote dir 1 (again)", "POST /vote dir 0"}
# Writes whose target is the post: they race its deletion too.
POST_WRITES = {
    "PUT /posts/{id}",
    "PATCH /posts/{id}",
    "DELETE /posts/{id}",
    "POST /vote dir 1 (again)",
    "POST /vote dir 0",
}

DELETE_POST = as_author("DELETE", "/posts/{post}")
DELETE_AUTHOR = as_author("DELETE", "/users/me")
DELETE_VOTER = as_voter("DELETE", "/users/me")

PAIRS = [(write, "DELETE /users/me (the caller)") for write in WRITES] + [
    (write, "DELETE /posts/{id}") for write in sorted(POST_WRITES)
]


async def change_email(s: Scene) -> Response:
    body = {**CHANGE_EMAIL, "email": f"moved-{s.author['id']}@example.com"}
    return await s.client.patch("/users/me", json=body, headers=s.author["headers"])


async def assert_consistent() -> None:
    """No row refers to a deleted one; no vote counted twice."""
    checks = {
        "posts of deleted users": "SELECT count(*) FROM posts "
        "WHERE owner_id NOT IN (SELECT id FROM users)",
        "votes for deleted posts": "SELECT count(*) FROM votes "
        "WHERE post_id NOT IN (SELECT id FROM posts)",
        "votes of deleted users": "SELECT count(*) FROM votes "
        "WHERE user_id NOT IN (SELECT id FROM users)",
        "duplicate votes": "SELECT count(*) FROM (SELECT post_id, user_id FROM votes "
        "GROUP BY post_id, user_id HAVING count(*) > 1) AS twice",
    }
    async with engine.connect() as connection:
        for name, query in checks.items():
            assert (await connection.execute(text(query))).scalar_one() == 0, name


async def assert_votes_counted(s: Scene) -> None:
    """As a user who still exists sees it, each post's `votes` is its number of vote rows."""
    viewer = await new_account(s.client)
    response = await s.client.get("/posts?limit=100", headers=viewer["headers"])
    assert response.status_code == 200, response.text
    async with engine.connect() as connection:
        for post in response.json():
            counted = await connection.execute(
                text("SELECT count(*) FROM votes WHERE post_id = :id"), {"id": post["id"]}
            )
            assert post["votes"] == counted.scalar_one(), post


@pytest.mark.parametrize(("write", "deletion"), PAIRS)
async def test_a_write_racing_a_deletion_never_gets_a_5xx(
    client: AsyncClient, write: str, deletion: str
) -> None:
    request, successes = WRITES[write]
    allowed = successes | {401, 404}
    seen: set[int] = set()
    for _ in range(REPEATS):
        s = await scene(client)
        if deletion == "DELETE /posts/{id}":
            delete = DELETE_POST
        else:
            delete = DELETE_VOTER if write in VOTER_WRITES else DELETE_AUTHOR
        writes = [request(s) for _ in range(WRITERS)]
        *answers, deleted = await asyncio.gather(*writes, delete(s))
        statuses = [answer.status_code for answer in answers]
        assert set(statuses) <= allowed, [answer.text for answer in answers]
        assert deleted.status_code in {204, 401, 404}, deleted.text
        for answer in (*answers, deleted):
            if answer.status_code >= 400:
                assert isinstance(answer.json()["detail"], str), answer.text
        seen.update(statuses)
        await assert_consistent()
        await assert_votes_counted(s)
    assert seen, "no answers"


async def test_an_email_change_racing_the_accounts_deletion_never_gets_a_5xx(
    client: AsyncClient,
) -> None:
    for _ in range(REPEATS):
        s = await scene(client)
        changed, deleted = await asyncio.gather(change_email(s), DELETE_AUTHOR(s))
        assert changed.status_code in {200, 401}, changed.text
        assert deleted.status_code in {204, 401}, deleted.text
        await assert_consistent()
