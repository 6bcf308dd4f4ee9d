"""Writes racing the deletion of their target (the post) or of their caller (the account).

Every pair of (write endpoint, deletion of its target or of its caller) is sent at the same
moment, with real commits on separate connections, REPEATS times each (they are timing games),
on PostgreSQL and on SQLite. The contract (API.md, "Field rules"): never a 5xx; the write
succeeds, or gets 404 (the post is gone) or 401 (the account is gone); and the database stays
consistent: no row refers to a deleted one, every post's vote and comment counts are its rows.
Every write that takes a token (tests/contract.py) is here, or in NOT_RACED with the reason.
"""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from httpx import AsyncClient, Response
from sqlalchemy import text

from app.db.engine import engine
from tests.contract import WRITES_WITH_TOKEN
from tests.factories import (
    DEFAULT_PASSWORD,
    create_comment,
    create_post,
    make_admin,
    new_account,
    vote,
)

REPEATS = 10
WRITERS = 3  # concurrent copies of the write, as a client retrying or a double click sends them
POST = {"title": "Racing", "content": "against a deletion"}


@dataclass
class Scene:
    """An author with a post, and a voter who has voted for it and commented on it."""

    client: AsyncClient
    author: dict[str, Any]
    voter: dict[str, Any]
    post_id: int
    comment_id: int


async def scene(client: AsyncClient) -> Scene:
    author = await new_account(client)
    voter = await new_account(client)
    post = await create_post(client, author["headers"])
    await vote(client, voter["headers"], post["id"])
    comment = await create_comment(client, voter["headers"], post["id"])
    return Scene(client, author, voter, post["id"], comment["id"])


Request = Callable[[Scene], Awaitable[Response]]


def _as(who: str, method: str, path: str, **kwargs: Any) -> Request:
    def send(s: Scene) -> Awaitable[Response]:
        url = path.format(post=s.post_id, comment=s.comment_id)
        user: dict[str, Any] = getattr(s, who)
        return s.client.request(method, url, headers=user["headers"], **kwargs)

    return send


def as_author(method: str, path: str, **kwargs: Any) -> Request:
    return _as("author", method, path, **kwargs)


def as_voter(method: str, path: str, **kwargs: Any) -> Request:
    return _as("voter", method, path, **kwargs)


def vote_as_voter(direction: int) -> Request:
    return lambda s: s.client.post(
        "/vote", json={"post_id": s.post_id, "dir": direction}, headers=s.voter["headers"]
    )


CHANGE_PASSWORD = {"password": "another password", "current_password": DEFAULT_PASSWORD}
CHANGE_EMAIL = {"current_password": DEFAULT_PASSWORD}  # plus a fresh address, in `writes`

# write: (request, statuses it may get besides 401 and 404). A write is named after its
# operation (tests/contract.py), then its variant in brackets.
WRITES: dict[str, tuple[Request, set[int]]] = {
    "PUT /posts/{post_id}": (as_author("PUT", "/posts/{post}", json=POST), {200}),
    "PATCH /posts/{post_id}": (as_author("PATCH", "/posts/{post}", json={"title": "New"}), {200}),
    "DELETE /posts/{post_id}": (as_author("DELETE", "/posts/{post}"), {204}),
    "POST /vote (dir 1, again)": (vote_as_voter(1), {409}),
    "POST /vote (dir 0)": (vote_as_voter(0), {200}),
    "POST /posts/{post_id}/comments": (
        as_voter("POST", "/posts/{post}/comments", json={"body": "racing"}),
        {201},
    ),
    "DELETE /comments/{comment_id}": (as_voter("DELETE", "/comments/{comment}"), {204}),
    "POST /posts": (as_author("POST", "/posts", json=POST), {201}),
    "POST /posts/batch": (as_author("POST", "/posts/batch", json=[POST, POST]), {201}),
    "PATCH /users/me (name)": (as_author("PATCH", "/users/me", json={"name": "New"}), {200}),
    "PATCH /users/me (password)": (
        as_author("PATCH", "/users/me", json=CHANGE_PASSWORD),
        {200},
    ),
    "POST /logout-all": (as_author("POST", "/logout-all"), {204}),
    "POST /logout": (as_author("POST", "/logout"), {204}),
    "DELETE /users/me": (as_author("DELETE", "/users/me"), {204}),
}
# Writes by the voter race the voter's account; the others, the author's.
VOTER_WRITES = {
    "POST /vote (dir 1, again)",
    "POST /vote (dir 0)",
    "POST /posts/{post_id}/comments",
    "DELETE /comments/{comment_id}",
}
# Writes whose target is the post (or is on it): they race its deletion too.
POST_WRITES = {
    "PUT /posts/{post_id}",
    "PATCH /posts/{post_id}",
    "DELETE /posts/{post_id}",
    "POST /vote (dir 1, again)",
    "POST /vote (dir 0)",
    "POST /posts/{post_id}/comments",
    "DELETE /comments/{comment_id}",
}
# The writes with a token that are not raced here, and why.
NOT_RACED = {
    "DELETE /sessions/{session_id}": "ends a session, as POST /logout does (raced here)",
    "PATCH /admin/users/{user_id}": "an admin's: its races are in tests/test_admin.py",
    "DELETE /admin/users/{user_id}": "an admin's: its races are in tests/test_admin.py",
}


def test_every_write_that_takes_a_token_is_raced_or_says_why_not() -> None:
    raced = {name.split(" (")[0] for name in WRITES}
    assert raced.isdisjoint(NOT_RACED)
    assert raced | set(NOT_RACED) == {operation.key for operation in WRITES_WITH_TOKEN}


DELETE_POST = as_author("DELETE", "/posts/{post}")
DELETE_AUTHOR = as_author("DELETE", "/users/me")
DELETE_VOTER = as_voter("DELETE", "/users/me")

PAIRS = [(write, "DELETE /users/me (the caller)") for write in WRITES] + [
    (write, "DELETE /posts/{post_id}") for write in sorted(POST_WRITES)
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
        "comments on deleted posts": "SELECT count(*) FROM comments "
        "WHERE post_id NOT IN (SELECT id FROM posts)",
        "comments of deleted users": "SELECT count(*) FROM comments "
        "WHERE author_id NOT IN (SELECT id FROM users)",
        "duplicate votes": "SELECT count(*) FROM (SELECT post_id, user_id FROM votes "
        "GROUP BY post_id, user_id HAVING count(*) > 1) AS twice",
    }
    async with engine.connect() as connection:
        for name, query in checks.items():
            assert (await connection.execute(text(query))).scalar_one() == 0, name


async def assert_votes_counted(s: Scene) -> None:
    """As a user who still exists sees it, each post's `votes` and `comments` are its numbers
    of vote and comment rows (no account is disabled here)."""
    viewer = await new_account(s.client)
    response = await s.client.get("/posts?limit=100", headers=viewer["headers"])
    assert response.status_code == 200, response.text
    async with engine.connect() as connection:
        for post in response.json():
            for table in ("votes", "comments"):
                counted = await connection.execute(
                    text(f"SELECT count(*) FROM {table} WHERE post_id = :id"), {"id": post["id"]}
                )
                assert post[table] == counted.scalar_one(), (table, post)


@pytest.mark.parametrize(("write", "deletion"), PAIRS)
async def test_a_write_racing_a_deletion_never_gets_a_5xx(
    client: AsyncClient, write: str, deletion: str
) -> None:
    request, successes = WRITES[write]
    allowed = successes | {401, 404}
    seen: set[int] = set()
    for _ in range(REPEATS):
        s = await scene(client)
        if deletion == "DELETE /posts/{post_id}":
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


BATCH = [{"title": f"Batch {n}", "content": "racing a disabling"} for n in range(20)]


async def test_a_batch_racing_the_callers_disabling_is_stored_exactly_when_it_says_so(
    client: AsyncClient,
) -> None:
    """All or nothing, also for the caller: either 201 and every post stored, or 401 and
    none (the disabling came first)."""
    admin = await new_account(client)
    await make_admin(admin)
    seen = set()
    for _ in range(3 * REPEATS):
        author = await new_account(client)
        batch, disabled = await asyncio.gather(
            client.post("/posts/batch", json=BATCH, headers=author["headers"]),
            client.patch(
                f"/admin/users/{author['id']}", json={"disabled": True}, headers=admin["headers"]
            ),
        )
        assert disabled.status_code == 200, disabled.text
        async with engine.connect() as connection:
            stored = await connection.execute(
                text("SELECT count(*) FROM posts WHERE owner_id = :id"), {"id": author["id"]}
            )
        expected = {201: len(BATCH), 401: 0}
        assert batch.status_code in expected, batch.text
        assert stored.scalar_one() == expected[batch.status_code], batch.status_code
        seen.add(batch.status_code)
    assert seen
