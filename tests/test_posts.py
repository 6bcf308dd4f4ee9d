"""The posts endpoints, through HTTP, against API.md.

GET /posts, GET /posts/{id}, POST /posts, POST /posts/batch, PUT, PATCH and DELETE
/posts/{id}: the `PostPublic` shape, field rules, drafts, ordering, paging, literal search,
vote counts, `updated_at`, ownership (403) and visibility (404), and id validation (422).
"""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from httpx import AsyncClient, Response
from sqlmodel import col, update
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import Post
from tests.checks import assert_unauthorized
from tests.factories import bearer, create_post, new_account, vote

MAX_ID = 2_147_483_647
NOT_FOUND = {"detail": "Post not found"}
FORBIDDEN = {"detail": "Not authorized to perform requested action"}
POST_PUBLIC_KEYS = {
    "id",
    "title",
    "content",
    "published",
    "created_at",
    "updated_at",
    "owner_id",
    "owner",
    "votes",
    "voted",
    "comments",
}
BAD_PATH_IDS = ["0", "-1", "2147483648", "abc"]


# --- helpers ---------------------------------------------------------------------------


def user_public(account: dict[str, Any]) -> dict[str, Any]:
    """What everyone may see of `account`: no email."""
    return {"id": account["id"], "name": account["name"], "created_at": account["created_at"]}


def timestamp(value: str) -> datetime:
    """An ISO 8601 timestamp that carries a UTC offset."""
    parsed = datetime.fromisoformat(value)
    assert parsed.utcoffset() == timedelta(0), value
    return parsed


def assert_validation_error(response: Response, *locs: tuple[Any, ...]) -> None:
    """A 422 in FastAPI's shape, with an error at each of `locs`."""
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, list) and detail, detail
    for error in detail:
        assert {"loc", "msg", "type"} <= error.keys(), error
    found = [tuple(error["loc"]) for error in detail]
    for loc in locs:
        assert loc in found, (loc, detail)


async def list_posts(client: AsyncClient, headers: dict[str, str], **params: Any) -> list[Any]:
    response = await client.get("/posts", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def titles(client: AsyncClient, headers: dict[str, str], **params: Any) -> list[str]:
    return [post["title"] for post in await list_posts(client, headers, **params)]


async def ids(client: AsyncClient, headers: dict[str, str], **params: Any) -> list[int]:
    return [post["id"] for post in await list_posts(client, headers, **params)]


async def read_post(client: AsyncClient, headers: dict[str, str], post_id: int) -> dict[str, Any]:
    response = await client.get(f"/posts/{post_id}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def create_batch(
    client: AsyncClient, headers: dict[str, str], items: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    response = await client.post("/posts/batch", json=items, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


# --- POST /posts -----------------------------------------------------------------------


async def test_create_returns_the_post_public_with_owner_and_no_votes(
    client: AsyncClient,
) -> None:
    alice = await new_account(client, name="alice")
    before = datetime.now(UTC)
    response = await client.post(
        "/posts", json={"title": "Hello", "content": "World"}, headers=alice["headers"]
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body.keys() == POST_PUBLIC_KEYS
    assert isinstance(body["id"], int) and 1 <= body["id"] <= MAX_ID
    created_at = timestamp(body["created_at"])
    assert before - timedelta(seconds=5) <= created_at <= datetime.now(UTC) + timedelta(seconds=5)
    assert body == {
        "id": body["id"],
        "title": "Hello",
        "content": "World",
        "published": True,
        "created_at": body["created_at"],
        "updated_at": None,
        "owner_id": alice["id"],
        "owner": user_public(alice),
        "votes": 0,
        "voted": False,
        "comments": 0,
    }
    assert "email" not in body["owner"]


async def test_create_a_draft(client: AsyncClient) -> None:
    alice = await new_account(client)
    post = await create_post(client, alice["headers"], published=False)
    assert post["published"] is False
    assert await read_post(client, alice["headers"], post["id"]) == post


async def test_created_post_reads_back_the_same_from_the_database(client: AsyncClient) -> None:
    alice = await new_account(client, name="alice")
    post = await create_post(client, alice["headers"], title="Stored", content="as sent")
    stored = await read_post(client, alice["headers"], post["id"])
    assert stored == post
    timestamp(stored["created_at"])
    timestamp(stored["owner"]["created_at"])


async def test_create_without_a_token_is_401(client: AsyncClient) -> None:
    response = await client.post("/posts", json={"title": "t", "content": "c"})
    assert_unauthorized(response)
    alice = await new_account(client)
    assert await list_posts(client, alice["headers"]) == []


async def test_create_with_a_bad_token_is_401(client: AsyncClient) -> None:
    response = await client.post(
        "/posts", json={"title": "t", "content": "c"}, headers=bearer("not-a-jwt")
    )
    assert_unauthorized(response)


@pytest.mark.parametrize(
    ("body", "locs"),
    [
        ({"content": "c"}, [("body", "title")]),
        ({"title": "t"}, [("body", "content")]),
        ({}, [("body", "title"), ("body", "content")]),
    ],
)
async def test_create_requires_title_and_content(
    client: AsyncClient, body: dict[str, Any], locs: list[tuple[Any, ...]]
) -> None:
    alice = await new_account(client)
    response = await client.post("/posts", json=body, headers=alice["headers"])
    assert_validation_error(response, *locs)
    for error in response.json()["detail"]:
        assert error["type"] == "missing"


async def test_create_without_a_body_is_422(client: AsyncClient) -> None:
    alice = await new_account(client)
    response = await client.post("/posts", headers=alice["headers"])
    assert_validation_error(response, ("body",))


@pytest.mark.parametrize(
    ("title", "error_type"),
    [
        ("", "string_too_short"),
        (" ", "value_error"),
        ("   \t\n ", "value_error"),
        ("\u3000\u00a0", "value_error"),
        ("x" * 201, "string_too_long"),
        (None, "string_type"),
        (123, "string_type"),
    ],
    ids=["empty", "space", "whitespace", "unicode-space", "201-chars", "null", "number"],
)
async def test_create_refuses_a_bad_title(client: AsyncClient, title: Any, error_type: str) -> None:
    alice = await new_account(client)
    response = await client.post(
        "/posts", json={"title": title, "content": "c"}, headers=alice["headers"]
    )
    assert_validation_error(response, ("body", "title"))
    assert [error["type"] for error in response.json()["detail"]] == [error_type]
    assert await list_posts(client, alice["headers"]) == []


@pytest.mark.parametrize(
    ("content", "error_type"),
    [("", "string_too_short"), ("x" * 10_001, "string_too_long"), (None, "string_type")],
    ids=["empty", "10001-chars", "null"],
)
async def test_create_refuses_bad_content(
    client: AsyncClient, content: Any, error_type: str
) -> None:
    alice = await new_account(client)
    response = await client.post(
        "/posts", json={"title": "t", "content": content}, headers=alice["headers"]
    )
    assert_validation_error(response, ("body", "content"))
    assert [error["type"] for error in response.json()["detail"]] == [error_type]


async def test_create_refuses_a_null_published(client: AsyncClient) -> None:
    alice = await new_account(client)
    response = await client.post(
        "/posts", json={"title": "t", "content": "c", "published": None}, headers=alice["headers"]
    )
    assert_validation_error(response, ("body", "published"))


@pytest.mark.parametrize("field", ["title", "content"])
async def test_create_refuses_nul_characters(client: AsyncClient, field: str) -> None:
    alice = await new_account(client)
    body = {"title": "t", "content": "c", field: "bad\x00text"}
    response = await client.post("/posts", json=body, headers=alice["headers"])
    assert_validation_error(response, ("body", field))


@pytest.mark.parametrize(
    ("title", "content"),
    [
        ("x" * 200, "y" * 10_000),
        ("é" * 200, "ü" * 10_000),
        ("x", "y"),
        ("  padded title  ", " "),
    ],
    ids=["longest", "longest-non-ascii", "shortest", "whitespace-around"],
)
async def test_create_accepts_the_boundaries(client: AsyncClient, title: str, content: str) -> None:
    alice = await new_account(client)
    post = await create_post(client, alice["headers"], title=title, content=content)
    assert (post["title"], post["content"]) == (title, content)
    stored = await read_post(client, alice["headers"], post["id"])
    assert (stored["title"], stored["content"]) == (title, content)


# --- GET /posts/{id} -------------------------------------------------------------------


async def test_get_shows_another_users_published_post(client: AsyncClient) -> None:
    alice = await new_account(client, name="alice")
    bob = await new_account(client)
    post = await create_post(client, alice["headers"], title="Alice's", content="words")
    response = await client.get(f"/posts/{post['id']}", headers=bob["headers"])
    assert response.status_code == 200
    assert response.json() == post
    assert response.json()["owner"] == user_public(alice)


async def test_get_an_unknown_post_is_404(client: AsyncClient) -> None:
    alice = await new_account(client)
    post = await create_post(client, alice["headers"])
    for post_id in (post["id"] + 1, MAX_ID):
        response = await client.get(f"/posts/{post_id}", headers=alice["headers"])
        assert response.status_code == 404
        assert response.json() == NOT_FOUND


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("post_id", BAD_PATH_IDS)
async def test_ids_outside_the_32_bit_range_are_422(
    client: AsyncClient, method: str, post_id: str
) -> None:
    alice = await new_account(client)
    response = await client.request(
        method,
        f"/posts/{post_id}",
        json={"title": "t", "content": "c"} if method in ("PUT", "PATCH") else None,
        headers=alice["headers"],
    )
    assert_validation_error(response, ("path", "post_id"))


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
async def test_unknown_ids_in_range_are_404_for_changes_too(
    client: AsyncClient, method: str
) -> None:
    alice = await new_account(client)
    json = {"title": "t", "content": "c"} if method != "DELETE" else None
    response = await client.request(method, f"/posts/{MAX_ID}", json=json, headers=alice["headers"])
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


@pytest.mark.parametrize(
    ("method", "path", "json"),
    [
        ("GET", "/posts", None),
        ("GET", "/posts/1", None),
        ("POST", "/posts", {"title": "t", "content": "c"}),
        ("POST", "/posts/batch", [{"title": "t", "content": "c"}]),
        ("PUT", "/posts/1", {"title": "t", "content": "c"}),
        ("PATCH", "/posts/1", {"title": "t"}),
        ("DELETE", "/posts/1", None),
    ],
)
async def test_every_posts_endpoint_needs_a_token(
    client: AsyncClient, method: str, path: str, json: Any
) -> None:
    assert_unauthorized(await client.request(method, path, json=json))
    assert_unauthorized(await client.request(method, path, json=json, headers=bearer("x.y.z")))


async def test_changes_without_a_token_leave_the_post_alone(client: AsyncClient) -> None:
    alice = await new_account(client)
    post = await create_post(client, alice["headers"])
    path = f"/posts/{post['id']}"
    assert_unauthorized(await client.put(path, json={"title": "new", "content": "new"}))
    assert_unauthorized(await client.patch(path, json={"title": "new"}))
    assert_unauthorized(await client.delete(path))
    assert await read_post(client, alice["headers"], post["id"]) == post


# --- drafts and ownership --------------------------------------------------------------


async def test_the_owner_sees_their_draft_everywhere(client: AsyncClient) -> None:
    alice = await new_account(client)
    draft = await create_post(client, alice["headers"], title="Secret plan", published=False)
    assert await read_post(client, alice["headers"], draft["id"]) == draft
    assert await list_posts(client, alice["headers"]) == [draft]
    assert await list_posts(client, alice["headers"], search="secret") == [draft]


async def test_others_cannot_find_a_draft(client: AsyncClient) -> None:
    alice = await new_account(client)
    bob = await new_account(client)
    draft = await create_post(client, alice["headers"], title="Secret plan", published=False)
    public = await create_post(client, alice["headers"], title="Public plan")
    assert await list_posts(client, bob["headers"]) == [public]
    assert await list_posts(client, bob["headers"], search="plan") == [public]
    assert await list_posts(client, bob["headers"], search="secret") == []
    response = await client.get(f"/posts/{draft['id']}", headers=bob["headers"])
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


@pytest.mark.parametrize(
    ("method", "json"),
    [
        ("PUT", {"title": "Taken", "content": "over"}),
        ("PATCH", {"title": "Taken"}),
        ("DELETE", None),
    ],
)
async def test_changing_another_users_draft_is_404(
    client: AsyncClient, method: str, json: Any
) -> None:
    alice = await new_account(client)
    bob = await new_account(client)
    draft = await create_post(client, alice["headers"], published=False)
    response = await client.request(
        method, f"/posts/{draft['id']}", json=json, headers=bob["headers"]
    )
    assert response.status_code == 404
    assert response.json() == NOT_FOUND
    assert await read_post(client, alice["headers"], draft["id"]) == draft


@pytest.mark.parametrize(
    ("method", "json"),
    [
        ("PUT", {"title": "Taken", "content": "over"}),
        ("PATCH", {"published": False}),
        ("DELETE", None),
    ],
)
async def test_changing_another_users_published_post_is_403(
    client: AsyncClient, method: str, json: Any
) -> None:
    alice = await new_account(client)
    bob = await new_account(client)
    post = await create_post(client, alice["headers"])
    response = await client.request(
        method, f"/posts/{post['id']}", json=json, headers=bob["headers"]
    )
    assert response.status_code == 403
    assert response.json() == FORBIDDEN
    assert await read_post(client, alice["headers"], post["id"]) == post


async def test_unpublishing_hides_a_post_and_republishing_shows_it(client: AsyncClient) -> None:
    alice = await new_account(client)
    bob = await new_account(client)
    post = await create_post(client, alice["headers"])
    path = f"/posts/{post['id']}"

    response = await client.patch(path, json={"published": False}, headers=alice["headers"])
    assert response.status_code == 200 and response.json()["published"] is False
    assert (await client.get(path, headers=bob["headers"])).status_code == 404
    assert await list_posts(client, bob["headers"]) == []

    response = await client.patch(path, json={"published": True}, headers=alice["headers"])
    assert response.status_code == 200 and response.json()["published"] is True
    assert await ids(client, bob["headers"]) == [post["id"]]


# --- GET /posts: order and paging ------------------------------------------------------


async def test_list_is_empty_without_posts(client: AsyncClient) -> None:
    alice = await new_account(client)
    response = await client.get("/posts", headers=alice["headers"])
    assert response.status_code == 200
    assert response.json() == []


async def test_list_shows_everyones_posts_newest_first(client: AsyncClient) -> None:
    alice = await new_account(client)
    bob = await new_account(client)
    first = await create_post(client, alice["headers"], title="first")
    second = await create_post(client, bob["headers"], title="second")
    third = await create_post(client, alice["headers"], title="third")
    posts = await list_posts(client, bob["headers"])
    assert posts == [third, second, first]
    stamps = [timestamp(post["created_at"]) for post in posts]
    assert stamps == sorted(stamps, reverse=True)


async def test_list_breaks_created_at_ties_by_id_descending(client: AsyncClient) -> None:
    alice = await new_account(client)
    batch = await create_batch(
        client, alice["headers"], [{"title": f"p{n}", "content": "c"} for n in range(5)]
    )
    assert len({post["created_at"] for post in batch}) == 1  # one batch, one timestamp
    assert await ids(client, alice["headers"]) == sorted((p["id"] for p in batch), reverse=True)


async def test_list_orders_by_created_at_before_id(
    client: AsyncClient, session: AsyncSession
) -> None:
    alice = await new_account(client)
    older = await create_post(client, alice["headers"], title="older")
    newer = await create_post(client, alice["headers"], title="newer")
    # The API cannot backdate a post: make the newer id the older post in the database.
    long_ago = datetime(2000, 1, 1, tzinfo=UTC)
    await session.exec(update(Post).where(col(Post.id) == newer["id"]).values(created_at=long_ago))
    await session.commit()
    posts = await list_posts(client, alice["headers"])
    assert [post["id"] for post in posts] == [older["id"], newer["id"]]
    assert timestamp(posts[1]["created_at"]) == long_ago


async def test_list_returns_10_posts_by_default(client: AsyncClient) -> None:
    alice = await new_account(client)
    batch = await create_batch(
        client, alice["headers"], [{"title": f"p{n}", "content": "c"} for n in range(12)]
    )
    newest_first = sorted((post["id"] for post in batch), reverse=True)
    assert await ids(client, alice["headers"]) == newest_first[:10]


@pytest.mark.parametrize("limit", [1, 7, 100])
async def test_list_honours_limit(client: AsyncClient, limit: int) -> None:
    alice = await new_account(client)
    await create_batch(
        client, alice["headers"], [{"title": f"p{n}", "content": "c"} for n in range(100)]
    )
    await create_post(client, alice["headers"])  # 101 posts in all
    assert len(await list_posts(client, alice["headers"], limit=limit)) == limit


@pytest.mark.parametrize("limit", ["0", "101", "-1", "abc", "1.5"])
async def test_list_refuses_a_limit_outside_1_to_100(client: AsyncClient, limit: str) -> None:
    alice = await new_account(client)
    response = await client.get("/posts", params={"limit": limit}, headers=alice["headers"])
    assert_validation_error(response, ("query", "limit"))


@pytest.mark.parametrize("skip", ["-1", "2147483648", "abc"])
async def test_list_refuses_a_skip_outside_the_32_bit_range(client: AsyncClient, skip: str) -> None:
    alice = await new_account(client)
    response = await client.get("/posts", params={"skip": skip}, headers=alice["headers"])
    assert_validation_error(response, ("query", "skip"))


async def test_list_accepts_the_largest_skip(client: AsyncClient) -> None:
    alice = await new_account(client)
    await create_post(client, alice["headers"])
    assert await list_posts(client, alice["headers"], skip=MAX_ID) == []
    assert len(await list_posts(client, alice["headers"], skip=0)) == 1


async def test_skip_and_limit_page_through_the_list(client: AsyncClient) -> None:
    alice = await new_account(client)
    bob = await new_account(client)
    for n in range(25):
        await create_post(client, (alice if n % 2 else bob)["headers"], title=f"post {n}")
    everything = await ids(client, alice["headers"], limit=100)
    assert len(everything) == 25
    pages = [await ids(client, alice["headers"], skip=skip, limit=10) for skip in (0, 10, 20)]
    assert pages == [everything[0:10], everything[10:20], everything[20:25]]
    assert await ids(client, alice["headers"], skip=3, limit=4) == everything[3:7]
    assert await ids(client, alice["headers"], skip=24, limit=10) == everything[24:]
    assert await ids(client, alice["headers"], skip=25) == []


async def test_paging_skips_other_users_drafts(client: AsyncClient) -> None:
    alice = await new_account(client)
    bob = await new_account(client)
    items = [{"title": f"p{n}", "content": "c", "published": n % 2 == 0} for n in range(10)]
    batch = await create_batch(client, alice["headers"], items)
    visible = sorted((post["id"] for post in batch if post["published"]), reverse=True)
    assert await ids(client, bob["headers"], limit=2) == visible[:2]
    assert await ids(client, bob["headers"], skip=2, limit=2) == visible[2:4]
    assert await ids(client, bob["headers"], skip=4, limit=2) == visible[4:]


# --- GET /posts: search ----------------------------------------------------------------

SEARCH_TITLES = [
    "100% sure",
    "100 percent",
    "a_b",
    "axb",
    "back\\slash",
    "backslash",
    "slash/ed",
    "slashed",
    "Mixed Case Title",
]


async def _search_feed(client: AsyncClient) -> dict[str, Any]:
    alice = await new_account(client)
    for title in SEARCH_TITLES:
        await create_post(client, alice["headers"], title=title)
    return alice


async def test_search_is_case_insensitive(client: AsyncClient) -> None:
    alice = await _search_feed(client)
    for search in ("mixed case", "MIXED CASE", "mIxEd", "Title"):
        assert await titles(client, alice["headers"], search=search) == ["Mixed Case Title"]


async def test_search_is_case_insensitive_beyond_ascii(client: AsyncClient) -> None:
    alice = await new_account(client)
    await create_post(client, alice["headers"], title="Café Crème")
    await create_post(client, alice["headers"], title="ÉTÉ À PARIS")
    assert await titles(client, alice["headers"], search="CRÈME") == ["Café Crème"]
    assert await titles(client, alice["headers"], search="été à") == ["ÉTÉ À PARIS"]


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("%", {"100% sure"}),
        ("100%", {"100% sure"}),
        ("0% s", {"100% sure"}),
        ("_", {"a_b"}),
        ("a_b", {"a_b"}),
        ("\\", {"back\\slash"}),
        ("k\\s", {"back\\slash"}),
        ("/", {"slash/ed"}),
        ("h/e", {"slash/ed"}),
        ("100", {"100% sure", "100 percent"}),
        ("slash", {"back\\slash", "backslash", "slash/ed", "slashed"}),
        ("%%", set()),
        ("__", set()),
        ("nothing like it", set()),
    ],
)
async def test_search_matches_a_literal_substring(
    client: AsyncClient, search: str, expected: set[str]
) -> None:
    alice = await _search_feed(client)
    found = await titles(client, alice["headers"], search=search)
    assert sorted(found) == sorted(expected)


async def test_search_matches_titles_not_content(client: AsyncClient) -> None:
    alice = await new_account(client)
    await create_post(client, alice["headers"], title="About cats", content="dogs dogs dogs")
    await create_post(client, alice["headers"], title="About dogs", content="cats cats cats")
    assert await titles(client, alice["headers"], search="cats") == ["About cats"]


async def test_search_keeps_order_and_paging(client: AsyncClient) -> None:
    alice = await new_account(client)
    matching = [await create_post(client, alice["headers"], title=f"match {n}") for n in range(5)]
    await create_post(client, alice["headers"], title="other")
    newest_first = [post["id"] for post in reversed(matching)]
    assert await ids(client, alice["headers"], search="MATCH") == newest_first
    assert await ids(client, alice["headers"], search="match", skip=1, limit=2) == newest_first[1:3]


async def test_search_of_200_characters_is_accepted(client: AsyncClient) -> None:
    alice = await new_account(client)
    await create_post(client, alice["headers"], title="s" * 200)
    await create_post(client, alice["headers"], title="s" * 199)
    assert await titles(client, alice["headers"], search="S" * 200) == ["s" * 200]


async def test_search_over_200_characters_is_422(client: AsyncClient) -> None:
    alice = await new_account(client)
    response = await client.get("/posts", params={"search": "s" * 201}, headers=alice["headers"])
    assert_validation_error(response, ("query", "search"))


async def test_search_with_a_nul_character_is_422(client: AsyncClient) -> None:
    alice = await new_account(client)
    response = await client.get("/posts", params={"search": "a\x00b"}, headers=alice["headers"])
    assert_validation_error(response, ("query", "search"))


# --- votes and voted -------------------------------------------------------------------


async def _voted_feed(client: AsyncClient) -> dict[str, Any]:
    """Alice's post with 3 votes (alice, bob, carol), bob's with 1 (carol), one with none."""
    alice = await new_account(client, name="alice")
    bob = await new_account(client, name="bob")
    carol = await new_account(client, name="carol")
    dave = await new_account(client, name="dave")
    popular = await create_post(client, alice["headers"], title="popular")
    liked = await create_post(client, bob["headers"], title="liked")
    ignored = await create_post(client, carol["headers"], title="ignored")
    for voter in (alice, bob, carol):
        await vote(client, voter["headers"], popular["id"])
    await vote(client, carol["headers"], liked["id"])
    return {
        "users": {"alice": alice, "bob": bob, "carol": carol, "dave": dave},
        "posts": {"popular": popular, "liked": liked, "ignored": ignored},
    }


VOTED_BY = {
    "alice": {"popular": True, "liked": False, "ignored": False},
    "bob": {"popular": True, "liked": False, "ignored": False},
    "carol": {"popular": True, "liked": True, "ignored": False},
    "dave": {"popular": False, "liked": False, "ignored": False},
}
VOTES = {"popular": 3, "liked": 1, "ignored": 0}


@pytest.mark.parametrize("viewer", list(VOTED_BY))
async def test_list_counts_votes_and_the_callers_own(client: AsyncClient, viewer: str) -> None:
    feed = await _voted_feed(client)
    posts = await list_posts(client, feed["users"][viewer]["headers"])
    assert [(p["title"], p["votes"], p["voted"]) for p in posts] == [
        (title, VOTES[title], VOTED_BY[viewer][title]) for title in ("ignored", "liked", "popular")
    ]


@pytest.mark.parametrize("viewer", list(VOTED_BY))
async def test_get_counts_votes_and_the_callers_own(client: AsyncClient, viewer: str) -> None:
    feed = await _voted_feed(client)
    for title, post in feed["posts"].items():
        body = await read_post(client, feed["users"][viewer]["headers"], post["id"])
        assert (body["votes"], body["voted"]) == (VOTES[title], VOTED_BY[viewer][title])


async def test_search_results_count_votes(client: AsyncClient) -> None:
    feed = await _voted_feed(client)
    posts = await list_posts(client, feed["users"]["dave"]["headers"], search="POPULAR")
    assert [(p["title"], p["votes"], p["voted"]) for p in posts] == [("popular", 3, False)]


async def test_withdrawn_votes_are_no_longer_counted(client: AsyncClient) -> None:
    feed = await _voted_feed(client)
    bob = feed["users"]["bob"]
    await vote(client, bob["headers"], feed["posts"]["popular"]["id"], direction=0)
    body = await read_post(client, bob["headers"], feed["posts"]["popular"]["id"])
    assert (body["votes"], body["voted"]) == (2, False)


@pytest.mark.parametrize(
    ("method", "json"),
    [("PUT", {"title": "renamed", "content": "new"}), ("PATCH", {"title": "renamed"})],
)
async def test_updates_answer_with_the_votes(client: AsyncClient, method: str, json: Any) -> None:
    feed = await _voted_feed(client)
    for owner, title, voted in (("alice", "popular", True), ("bob", "liked", False)):
        post = feed["posts"][title]
        response = await client.request(
            method, f"/posts/{post['id']}", json=json, headers=feed["users"][owner]["headers"]
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["title"], body["votes"], body["voted"]) == ("renamed", VOTES[title], voted)


async def test_an_owners_vote_on_their_draft_is_counted_for_them(client: AsyncClient) -> None:
    alice = await new_account(client)
    draft = await create_post(client, alice["headers"], published=False)
    await vote(client, alice["headers"], draft["id"])
    body = await read_post(client, alice["headers"], draft["id"])
    assert (body["votes"], body["voted"]) == (1, True)


# --- PUT /posts/{id} -------------------------------------------------------------------


async def test_put_replaces_every_field(client: AsyncClient) -> None:
    alice = await new_account(client, name="alice")
    post = await create_post(client, alice["headers"], title="old", content="old content")
    response = await client.put(
        f"/posts/{post['id']}",
        json={"title": "new", "content": "new content", "published": False},
        headers=alice["headers"],
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body == {
        **post,
        "title": "new",
        "content": "new content",
        "published": False,
        "updated_at": body["updated_at"],
    }
    assert timestamp(body["updated_at"]) >= timestamp(body["created_at"])
    assert await read_post(client, alice["headers"], post["id"]) == body


async def test_put_without_published_publishes_again(client: AsyncClient) -> None:
    alice = await new_account(client)
    bob = await new_account(client)
    draft = await create_post(client, alice["headers"], published=False)
    response = await client.put(
        f"/posts/{draft['id']}", json={"title": "t", "content": "c"}, headers=alice["headers"]
    )
    assert response.status_code == 200
    assert response.json()["published"] is True
    assert (await read_post(client, bob["headers"], draft["id"]))["published"] is True


@pytest.mark.parametrize(
    ("body", "locs"),
    [
        ({"title": "only a title"}, [("body", "content")]),
        ({"content": "only content"}, [("body", "title")]),
        ({"published": False}, [("body", "title"), ("body", "content")]),
        ({"title": " ", "content": "c"}, [("body", "title")]),
        ({"title": "x" * 201, "content": "c"}, [("body", "title")]),
        ({"title": "t", "content": ""}, [("body", "content")]),
        ({"title": "t", "content": "x" * 10_001}, [("body", "content")]),
        ({"title": "t", "content": "c", "published": None}, [("body", "published")]),
    ],
    ids=[
        "no-content",
        "no-title",
        "neither",
        "blank-title",
        "long-title",
        "empty-content",
        "long-content",
        "null-published",
    ],
)
async def test_put_validates_the_full_post(
    client: AsyncClient, body: dict[str, Any], locs: list[tuple[Any, ...]]
) -> None:
    alice = await new_account(client)
    post = await create_post(client, alice["headers"])
    response = await client.put(f"/posts/{post['id']}", json=body, headers=alice["headers"])
    assert_validation_error(response, *locs)
    assert await read_post(client, alice["headers"], post["id"]) == post


async def test_put_accepts_the_longest_fields(client: AsyncClient) -> None:
    alice = await new_account(client)
    post = await create_post(client, alice["headers"])
    body = {"title": "x" * 200, "content": "y" * 10_000}
    response = await client.put(f"/posts/{post['id']}", json=body, headers=alice["headers"])
    assert response.status_code == 200
    assert (response.json()["title"], response.json()["content"]) == (
        body["title"],
        body["content"],
    )


# --- PATCH /posts/{id} -----------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [{"title": "new title"}, {"content": "new content"}, {"published": False}],
    ids=["title", "content", "published"],
)
async def test_patch_changes_only_the_fields_sent(
    client: AsyncClient, changes: dict[str, Any]
) -> None:
    alice = await new_account(client)
    post = await create_post(client, alice["headers"], title="old title", content="old content")
    response = await client.patch(f"/posts/{post['id']}", json=changes, headers=alice["headers"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body == {**post, **changes, "updated_at": body["updated_at"]}
    assert body["updated_at"] is not None
    assert await read_post(client, alice["headers"], post["id"]) == body


async def test_patch_with_an_empty_body_changes_nothing(client: AsyncClient) -> None:
    alice = await new_account(client)
    post = await create_post(client, alice["headers"])
    response = await client.patch(f"/posts/{post['id']}", json={}, headers=alice["headers"])
    assert response.status_code == 200
    assert response.json() == post
    assert response.json()["updated_at"] is None


@pytest.mark.parametrize("field", ["title", "content", "published"])
async def test_patch_refuses_an_explicit_null(client: AsyncClient, field: str) -> None:
    alice = await new_account(client)
    post = await create_post(client, alice["headers"])
    response = await client.patch(
        f"/posts/{post['id']}", json={field: None}, headers=alice["headers"]
    )
    assert_validation_error(response, ("body", field))
    assert await read_post(client, alice["headers"], post["id"]) == post


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "  \t "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"content": ""}, "content"),
        ({"content": "x" * 10_001}, "content"),
        ({"title": "fine", "content": ""}, "content"),
    ],
    ids=["empty-title", "blank-title", "long-title", "empty-content", "long-content", "mixed"],
)
async def test_patch_validates_the_fields_sent(
    client: AsyncClient, changes: dict[str, Any], field: str
) -> None:
    alice = await new_account(client)
    post = await create_post(client, alice["headers"])
    response = await client.patch(f"/posts/{post['id']}", json=changes, headers=alice["headers"])
    assert_validation_error(response, ("body", field))
    assert await read_post(client, alice["headers"], post["id"]) == post


async def test_patch_refuses_a_body_that_is_not_an_object(client: AsyncClient) -> None:
    alice = await new_account(client)
    post = await create_post(client, alice["headers"])
    response = await client.patch(f"/posts/{post['id']}", json=["title"], headers=alice["headers"])
    assert_validation_error(response, ("body",))


# --- updated_at ------------------------------------------------------------------------


async def test_updated_at_is_null_until_a_change_then_follows_each_change(
    client: AsyncClient,
) -> None:
    alice = await new_account(client)
    post = await create_post(client, alice["headers"], title="v1", content="c")
    path = f"/posts/{post['id']}"
    assert (await read_post(client, alice["headers"], post["id"]))["updated_at"] is None

    first = (await client.patch(path, json={"title": "v2"}, headers=alice["headers"])).json()
    first_update = timestamp(first["updated_at"])
    assert first_update >= timestamp(post["created_at"])
    assert first["created_at"] == post["created_at"]

    second = (
        await client.put(path, json={"title": "v3", "content": "c"}, headers=alice["headers"])
    ).json()
    assert timestamp(second["updated_at"]) > first_update
    assert second["created_at"] == post["created_at"]
    assert await read_post(client, alice["headers"], post["id"]) == second


@pytest.mark.parametrize(
    ("method", "json"),
    [
        ("PATCH", {"title": "same", "published": True}),
        ("PUT", {"title": "same", "content": "same"}),
        ("PUT", {"title": "same", "content": "same", "published": True}),
    ],
)
async def test_updates_that_change_nothing_leave_updated_at_null(
    client: AsyncClient, method: str, json: dict[str, Any]
) -> None:
    alice = await new_account(client)
    post = await create_post(client, alice["headers"], title="same", content="same")
    response = await client.request(
        method, f"/posts/{post['id']}", json=json, headers=alice["headers"]
    )
    assert response.status_code == 200
    assert response.json() == post


async def test_updates_that_change_nothing_keep_the_last_updated_at(client: AsyncClient) -> None:
    alice = await new_account(client)
    post = await create_post(client, alice["headers"], title="old")
    path = f"/posts/{post['id']}"
    changed = (await client.patch(path, json={"title": "new"}, headers=alice["headers"])).json()
    again = await client.patch(path, json={"title": "new"}, headers=alice["headers"])
    assert again.status_code == 200
    assert again.json() == changed


# --- DELETE /posts/{id} ----------------------------------------------------------------


async def test_delete_answers_204_and_the_post_is_gone(client: AsyncClient) -> None:
    alice = await new_account(client)
    post = await create_post(client, alice["headers"])
    kept = await create_post(client, alice["headers"], title="kept")
    path = f"/posts/{post['id']}"

    response = await client.delete(path, headers=alice["headers"])
    assert response.status_code == 204
    assert response.content == b""

    for method, json in (("GET", None), ("PUT", {"title": "t", "content": "c"}), ("DELETE", None)):
        again = await client.request(method, path, json=json, headers=alice["headers"])
        assert (again.status_code, again.json()) == (404, NOT_FOUND)
    assert await list_posts(client, alice["headers"]) == [kept]


async def test_an_owner_can_delete_their_draft(client: AsyncClient) -> None:
    alice = await new_account(client)
    draft = await create_post(client, alice["headers"], published=False)
    response = await client.delete(f"/posts/{draft['id']}", headers=alice["headers"])
    assert response.status_code == 204
    assert (await client.get(f"/posts/{draft['id']}", headers=alice["headers"])).status_code == 404


async def test_deleting_a_post_deletes_its_votes_only(client: AsyncClient) -> None:
    alice = await new_account(client)
    bob = await new_account(client)
    doomed = await create_post(client, alice["headers"], title="doomed")
    other = await create_post(client, alice["headers"], title="other")
    for post in (doomed, other):
        await vote(client, bob["headers"], post["id"])
        await vote(client, alice["headers"], post["id"])

    assert (
        await client.delete(f"/posts/{doomed['id']}", headers=alice["headers"])
    ).status_code == 204

    for direction in (1, 0):
        response = await client.post(
            "/vote", json={"post_id": doomed["id"], "dir": direction}, headers=bob["headers"]
        )
        assert (response.status_code, response.json()) == (404, NOT_FOUND)
    body = await read_post(client, bob["headers"], other["id"])
    assert (body["votes"], body["voted"]) == (2, True)
    # Bob's vote on the other post is still there: withdrawing it works once.
    await vote(client, bob["headers"], other["id"], direction=0)
    assert (await read_post(client, bob["headers"], other["id"]))["votes"] == 1


# --- POST /posts/batch -----------------------------------------------------------------


async def test_batch_creates_posts_in_request_order(client: AsyncClient) -> None:
    alice = await new_account(client, name="alice")
    items = [
        {"title": "zeta", "content": "last letter"},
        {"title": "alpha", "content": "first letter", "published": True},
        {"title": "mu", "content": "middle", "published": False},
    ]
    response = await client.post("/posts/batch", json=items, headers=alice["headers"])
    assert response.status_code == 201, response.text
    posts = response.json()
    assert [(p["title"], p["content"], p["published"]) for p in posts] == [
        ("zeta", "last letter", True),
        ("alpha", "first letter", True),
        ("mu", "middle", False),
    ]
    assert len({post["id"] for post in posts}) == 3
    for post in posts:
        assert post.keys() == POST_PUBLIC_KEYS
        assert (post["votes"], post["voted"], post["updated_at"]) == (0, False, None)
        assert (post["owner_id"], post["owner"]) == (alice["id"], user_public(alice))
        timestamp(post["created_at"])
        assert await read_post(client, alice["headers"], post["id"]) == post


async def test_batch_drafts_stay_hidden_from_others(client: AsyncClient) -> None:
    alice = await new_account(client)
    bob = await new_account(client)
    posts = await create_batch(
        client,
        alice["headers"],
        [
            {"title": "shown", "content": "c"},
            {"title": "hidden", "content": "c", "published": False},
        ],
    )
    assert await titles(client, bob["headers"]) == ["shown"]
    assert (await client.get(f"/posts/{posts[1]['id']}", headers=bob["headers"])).status_code == 404
    assert sorted(await titles(client, alice["headers"])) == ["hidden", "shown"]


@pytest.mark.parametrize("size", [1, 100])
async def test_batch_accepts_1_to_100_items(client: AsyncClient, size: int) -> None:
    alice = await new_account(client)
    items = [{"title": f"post {n}", "content": f"content {n}"} for n in range(size)]
    posts = await create_batch(client, alice["headers"], items)
    assert [(p["title"], p["content"]) for p in posts] == [
        (item["title"], item["content"]) for item in items
    ]
    assert await ids(client, alice["headers"], limit=100) == [p["id"] for p in reversed(posts)]


@pytest.mark.parametrize("size", [0, 101])
async def test_batch_refuses_0_or_more_than_100_items(client: AsyncClient, size: int) -> None:
    alice = await new_account(client)
    items = [{"title": f"post {n}", "content": "c"} for n in range(size)]
    response = await client.post("/posts/batch", json=items, headers=alice["headers"])
    assert_validation_error(response, ("body",))
    assert await list_posts(client, alice["headers"]) == []


@pytest.mark.parametrize(
    ("bad_item", "field"),
    [
        ({"title": " ", "content": "c"}, "title"),
        ({"title": "x" * 201, "content": "c"}, "title"),
        ({"title": "t", "content": ""}, "content"),
        ({"title": "t"}, "content"),
        ({"title": "t", "content": "c", "published": None}, "published"),
    ],
    ids=["blank-title", "long-title", "empty-content", "missing-content", "null-published"],
)
async def test_batch_with_one_bad_item_creates_nothing(
    client: AsyncClient, bad_item: dict[str, Any], field: str
) -> None:
    alice = await new_account(client)
    items = [{"title": "good", "content": "c"}, bad_item, {"title": "also good", "content": "c"}]
    response = await client.post("/posts/batch", json=items, headers=alice["headers"])
    assert_validation_error(response, ("body", 1, field))
    assert await list_posts(client, alice["headers"]) == []


async def test_batch_refuses_a_single_object(client: AsyncClient) -> None:
    alice = await new_account(client)
    response = await client.post(
        "/posts/batch", json={"title": "t", "content": "c"}, headers=alice["headers"]
    )
    assert_validation_error(response, ("body",))
    assert await list_posts(client, alice["headers"]) == []
