"""Comments on posts (API.md): listed oldest first on the posts the caller sees, written by
anyone who sees the post, deleted by their author, the post's owner or an admin; counted in
every post as the caller sees them; gone with their post or their author."""

from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import text

from app.db.engine import engine
from tests.checks import assert_invalid
from tests.factories import create_comment, create_post, make_admin, new_account

POST_NOT_FOUND = {"detail": "Post not found"}
COMMENT_NOT_FOUND = {"detail": "Comment not found"}
NOT_ALLOWED = {"detail": "Not allowed to delete this comment"}


def public(user: dict[str, Any]) -> dict[str, Any]:
    return {"id": user["id"], "name": user["name"], "created_at": user["created_at"]}


async def comments_of(client: AsyncClient, user: dict[str, Any], post_id: int) -> list[str]:
    response = await client.get(f"/posts/{post_id}/comments?limit=100", headers=user["headers"])
    assert response.status_code == 200, response.text
    return [comment["body"] for comment in response.json()]


async def counted(client: AsyncClient, user: dict[str, Any], post_id: int) -> tuple[int, int]:
    """The post's `comments` as the user sees it, in the feed and on its own."""
    one = await client.get(f"/posts/{post_id}", headers=user["headers"])
    feed = await client.get("/posts?limit=100", headers=user["headers"])
    (listed,) = [post for post in feed.json() if post["id"] == post_id]
    return one.json()["comments"], listed["comments"]


async def test_a_comment_is_answered_with_its_author_and_counted_in_its_post(
    client: AsyncClient,
) -> None:
    alice = await new_account(client, name="alice")
    bob = await new_account(client, name="bob")
    post = await create_post(client, alice["headers"])
    assert post["comments"] == 0

    response = await client.post(
        f"/posts/{post['id']}/comments", json={"body": "Nice one"}, headers=bob["headers"]
    )

    assert response.status_code == 201, response.text
    comment = response.json()
    assert comment == {
        "id": comment["id"],
        "post_id": post["id"],
        "body": "Nice one",
        "created_at": comment["created_at"],
        "author": public(bob),
    }
    assert await counted(client, alice, post["id"]) == (1, 1)
    assert await comments_of(client, alice, post["id"]) == ["Nice one"]


async def test_comments_are_listed_oldest_first_a_page_at_a_time(client: AsyncClient) -> None:
    alice = await new_account(client)
    post = await create_post(client, alice["headers"])
    for n in range(25):
        await create_comment(client, alice["headers"], post["id"], f"comment {n}")
    url = f"/posts/{post['id']}/comments"

    first = await client.get(url, headers=alice["headers"])
    page = await client.get(f"{url}?limit=5&skip=20", headers=alice["headers"])
    past_the_end = await client.get(f"{url}?skip=100", headers=alice["headers"])

    assert [c["body"] for c in first.json()] == [f"comment {n}" for n in range(20)]  # 20 a page
    assert [c["body"] for c in page.json()] == [f"comment {n}" for n in range(20, 25)]
    assert past_the_end.status_code == 200 and past_the_end.json() == []


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "skip=-1", "limit=ten"])
async def test_a_page_out_of_range_is_422(client: AsyncClient, query: str) -> None:
    alice = await new_account(client)
    post = await create_post(client, alice["headers"])
    response = await client.get(f"/posts/{post['id']}/comments?{query}", headers=alice["headers"])
    assert_invalid(response, ["query", query.split("=")[0]])


async def test_a_post_without_comments_lists_none(client: AsyncClient) -> None:
    alice = await new_account(client)
    post = await create_post(client, alice["headers"])
    assert await comments_of(client, alice, post["id"]) == []


async def test_drafts_take_comments_from_their_owner_alone(client: AsyncClient) -> None:
    alice = await new_account(client)
    bob = await new_account(client)
    draft = await create_post(client, alice["headers"], published=False)
    url = f"/posts/{draft['id']}/comments"

    own = await client.post(url, json={"body": "note to self"}, headers=alice["headers"])
    listed = await client.get(url, headers=bob["headers"])
    written = await client.post(url, json={"body": "hi"}, headers=bob["headers"])

    assert own.status_code == 201
    assert (listed.status_code, listed.json()) == (404, POST_NOT_FOUND)
    assert (written.status_code, written.json()) == (404, POST_NOT_FOUND)
    assert await comments_of(client, alice, draft["id"]) == ["note to self"]


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_a_post_that_does_not_exist_has_no_comments(client: AsyncClient, method: str) -> None:
    alice = await new_account(client)
    response = await client.request(
        method, "/posts/999999/comments", json={"body": "hello"}, headers=alice["headers"]
    )
    assert (response.status_code, response.json()) == (404, POST_NOT_FOUND)


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"body": ""}, ["body", "body"]),
        ({"body": "x" * 2001}, ["body", "body"]),
        ({"body": "   \n\t"}, ["body", "body"]),
        ({"body": "\u200b\u200b"}, ["body", "body"]),
        ({"body": "nul \x00 inside"}, ["body", "body"]),
        ({"body": 42}, ["body", "body"]),
        ({}, ["body", "body"]),
    ],
    ids=["empty", "2001-chars", "blank", "invisible", "nul", "number", "missing"],
)
async def test_a_comment_needs_1_to_2000_characters_with_a_visible_one(
    client: AsyncClient, body: dict[str, Any], loc: list[str]
) -> None:
    alice = await new_account(client)
    post = await create_post(client, alice["headers"])
    response = await client.post(
        f"/posts/{post['id']}/comments", json=body, headers=alice["headers"]
    )
    assert_invalid(response, loc)
    assert await comments_of(client, alice, post["id"]) == []


async def test_2000_characters_and_a_new_emoji_are_a_comment(client: AsyncClient) -> None:
    alice = await new_account(client)
    post = await create_post(client, alice["headers"])
    long = await create_comment(client, alice["headers"], post["id"], "é" * 2000)
    # U+1FAE8 (Unicode 15): newer than Python 3.11's tables, visible all the same.
    shaking = await create_comment(client, alice["headers"], post["id"], "\U0001fae8")
    assert (len(long["body"]), shaking["body"]) == (2000, "\U0001fae8")


async def test_the_author_the_post_owner_and_an_admin_may_delete_a_comment(
    client: AsyncClient,
) -> None:
    owner = await new_account(client)
    author = await new_account(client)
    admin = await new_account(client)
    await make_admin(admin)
    post = await create_post(client, owner["headers"])
    for deleter in (author, owner, admin):
        comment = await create_comment(client, author["headers"], post["id"])
        response = await client.delete(f"/comments/{comment['id']}", headers=deleter["headers"])
        assert response.status_code == 204, response.text
        again = await client.delete(f"/comments/{comment['id']}", headers=author["headers"])
        assert (again.status_code, again.json()) == (404, COMMENT_NOT_FOUND)
    assert await comments_of(client, owner, post["id"]) == []


async def test_anyone_else_gets_403_and_the_comment_stays(client: AsyncClient) -> None:
    owner = await new_account(client)
    author = await new_account(client)
    stranger = await new_account(client)
    post = await create_post(client, owner["headers"])
    comment = await create_comment(client, author["headers"], post["id"], "stays")

    response = await client.delete(f"/comments/{comment['id']}", headers=stranger["headers"])

    assert (response.status_code, response.json()) == (403, NOT_ALLOWED)
    assert await comments_of(client, owner, post["id"]) == ["stays"]


async def test_a_comment_the_caller_cannot_see_is_404(client: AsyncClient) -> None:
    owner = await new_account(client)
    stranger = await new_account(client)
    post = await create_post(client, owner["headers"])
    comment = await create_comment(client, owner["headers"], post["id"])
    # Back to a draft: its comments are the owner's to see, and to delete, alone.
    await client.patch(f"/posts/{post['id']}", json={"published": False}, headers=owner["headers"])

    hidden = await client.delete(f"/comments/{comment['id']}", headers=stranger["headers"])
    missing = await client.delete("/comments/999999", headers=stranger["headers"])

    assert (hidden.status_code, hidden.json()) == (404, COMMENT_NOT_FOUND)
    assert (missing.status_code, missing.json()) == (404, COMMENT_NOT_FOUND)
    assert await comments_of(client, owner, post["id"]) == ["A comment"]


async def set_disabled(
    client: AsyncClient, admin: dict[str, Any], user_id: int, value: bool
) -> None:
    response = await client.patch(
        f"/admin/users/{user_id}", json={"disabled": value}, headers=admin["headers"]
    )
    assert response.status_code == 200, response.text


async def test_a_disabled_accounts_comments_are_for_admins_only(client: AsyncClient) -> None:
    owner = await new_account(client)
    troll = await new_account(client)
    admin = await new_account(client)
    await make_admin(admin)
    post = await create_post(client, owner["headers"])
    await create_comment(client, owner["headers"], post["id"], "first")
    spam = await create_comment(client, troll["headers"], post["id"], "spam")

    await set_disabled(client, admin, troll["id"], True)

    assert await comments_of(client, owner, post["id"]) == ["first"]
    assert await counted(client, owner, post["id"]) == (1, 1)
    assert await comments_of(client, admin, post["id"]) == ["first", "spam"]
    assert await counted(client, admin, post["id"]) == (2, 2)
    # The owner no longer sees it, so cannot delete it; an admin can.
    refused = await client.delete(f"/comments/{spam['id']}", headers=owner["headers"])
    assert (refused.status_code, refused.json()) == (404, COMMENT_NOT_FOUND)

    await set_disabled(client, admin, troll["id"], False)
    assert await comments_of(client, owner, post["id"]) == ["first", "spam"]


async def test_a_disabled_accounts_post_takes_no_comments_but_from_admins(
    client: AsyncClient,
) -> None:
    owner = await new_account(client)
    reader = await new_account(client)
    admin = await new_account(client)
    await make_admin(admin)
    post = await create_post(client, owner["headers"])
    await create_comment(client, reader["headers"], post["id"], "before")
    await set_disabled(client, admin, owner["id"], True)
    url = f"/posts/{post['id']}/comments"

    listed = await client.get(url, headers=reader["headers"])
    written = await client.post(url, json={"body": "after"}, headers=reader["headers"])

    assert (listed.status_code, listed.json()) == (404, POST_NOT_FOUND)
    assert (written.status_code, written.json()) == (404, POST_NOT_FOUND)
    assert await comments_of(client, admin, post["id"]) == ["before"]


async def stored_comments() -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(text("SELECT count(*) FROM comments"))).scalar_one())


async def test_comments_go_with_their_post(client: AsyncClient) -> None:
    owner = await new_account(client)
    reader = await new_account(client)
    post = await create_post(client, owner["headers"])
    comment = await create_comment(client, reader["headers"], post["id"])

    assert (
        await client.delete(f"/posts/{post['id']}", headers=owner["headers"])
    ).status_code == 204

    gone = await client.delete(f"/comments/{comment['id']}", headers=reader["headers"])
    assert (gone.status_code, gone.json()) == (404, COMMENT_NOT_FOUND)
    assert await stored_comments() == 0


async def test_comments_go_with_their_author(client: AsyncClient) -> None:
    owner = await new_account(client)
    reader = await new_account(client)
    post = await create_post(client, owner["headers"])
    await create_comment(client, reader["headers"], post["id"], "bye")
    await create_comment(client, owner["headers"], post["id"], "stays")

    assert (await client.delete("/users/me", headers=reader["headers"])).status_code == 204

    assert await comments_of(client, owner, post["id"]) == ["stays"]
    assert await counted(client, owner, post["id"]) == (1, 1)
    assert await stored_comments() == 1


async def test_the_count_is_per_post_in_a_page(client: AsyncClient) -> None:
    alice = await new_account(client)
    posts = [await create_post(client, alice["headers"], title=f"post {n}") for n in range(3)]
    for n, post in enumerate(posts):
        for _ in range(n):
            await create_comment(client, alice["headers"], post["id"])
    feed = (await client.get("/posts", headers=alice["headers"])).json()
    assert [(post["title"], post["comments"]) for post in feed] == [
        ("post 2", 2),
        ("post 1", 1),
        ("post 0", 0),
    ]
