"""Every `PostPublic` (post, owner, vote count, caller's vote, visibility) comes from one
statement: a page of posts costs the same number of queries whatever its size. For the feed and
a single post, that statement checks the caller's token too: one query per request."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from httpx import AsyncClient
from sqlalchemy import event, false, literal_column, select

from app.db.engine import engine
from app.db.rows import ColumnsDisagree, Shape, columns_for, labelled
from app.models import Post, PostPublic, User, UserPublic, table_of
from tests.factories import create_comment, create_post, new_account, vote

_DATA_STATEMENTS = ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH")


@pytest.fixture
def recorded_statements(monkeypatch: pytest.MonkeyPatch) -> Any:
    """`with recorded_statements() as statements:` the SQL statements the app runs inside the
    block (transaction control left out): on PostgreSQL every statement psycopg sends, through
    SQLAlchemy or straight from the read path; on SQLite what SQLAlchemy sends."""

    @contextmanager
    def recording() -> Iterator[list[str]]:
        statements: list[str] = []

        def record(statement: Any) -> None:
            text = statement if isinstance(statement, str) else repr(statement)
            if text.lstrip().upper().startswith(_DATA_STATEMENTS):
                statements.append(text)

        if engine.dialect.name == "postgresql":
            execute = psycopg.AsyncCursor.execute

            async def recording_execute(cursor: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
                record(query)
                return await execute(cursor, query, *args, **kwargs)

            with monkeypatch.context() as patch:
                patch.setattr(psycopg.AsyncCursor, "execute", recording_execute)
                yield statements
            return

        def before_execute(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            record(statement)

        event.listen(engine.sync_engine, "before_cursor_execute", before_execute)
        try:
            yield statements
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", before_execute)

    return recording


async def _feed(client: AsyncClient) -> dict[str, Any]:
    """Two users, 25 posts (some drafts), votes from both: a non-trivial page."""
    alice = await new_account(client, name="alice")
    bob = await new_account(client, name="bob")
    for n in range(25):
        author = alice if n % 2 else bob
        post = await create_post(client, author["headers"], title=f"post {n}", published=n % 5 != 0)
        if post["published"]:
            await vote(client, alice["headers"], post["id"])
            if n % 3 == 0:
                await vote(client, bob["headers"], post["id"])
    return alice


async def test_a_page_of_posts_is_one_statement_with_the_token_check(
    client: AsyncClient, recorded_statements: Any
) -> None:
    alice = await _feed(client)
    for limit in (1, 10, 100):
        with recorded_statements() as statements:
            response = await client.get(f"/posts?limit={limit}", headers=alice["headers"])
        assert response.status_code == 200
        assert len(response.json()) == min(limit, 25 - 3)  # bob's 3 drafts are hidden
        # One statement checks the caller's token and builds the whole page.
        assert len(statements) == 1, statements
        assert "FROM sessions" in statements[0] and "FROM posts" in statements[0]


async def test_search_and_single_post_are_one_statement_too(
    client: AsyncClient, recorded_statements: Any
) -> None:
    alice = await _feed(client)
    with recorded_statements() as statements:
        found = await client.get("/posts?search=post 1", headers=alice["headers"])
    assert found.status_code == 200 and found.json()
    assert len(statements) == 1, statements

    post_id = found.json()[0]["id"]
    with recorded_statements() as statements:
        one = await client.get(f"/posts/{post_id}", headers=alice["headers"])
    assert one.status_code == 200
    assert len(statements) == 1, statements


async def test_each_write_to_a_post_is_one_statement_with_the_token_check(
    client: AsyncClient, recorded_statements: Any
) -> None:
    """Writing a post, changing it, voting, taking the vote back and deleting the post: one
    statement each, which checks the caller's session too, and answers."""
    alice = await new_account(client, name="alice")
    headers = alice["headers"]
    post_body = {"title": "One statement", "content": "each", "published": True}
    with recorded_statements() as statements:
        created = await client.post("/posts", json=post_body, headers=headers)
    assert created.status_code == 201
    post_id = created.json()["id"]
    writes = [
        ("PUT", f"/posts/{post_id}", {**post_body, "title": "Replaced"}, 200),
        ("PATCH", f"/posts/{post_id}", {"content": "patched"}, 200),
        ("POST", "/vote", {"post_id": post_id, "dir": 1}, 201),
        ("POST", "/vote", {"post_id": post_id, "dir": 0}, 200),
        ("DELETE", f"/posts/{post_id}", None, 204),
    ]
    counts = {"POST /posts": len(statements)}
    assert "FROM sessions" in statements[0]
    for method, path, body, status in writes:
        with recorded_statements() as statements:
            response = await client.request(method, path, json=body, headers=headers)
        assert response.status_code == status, (method, path, response.text)
        counts[f"{method} {path}"] = len(statements)
        assert "FROM sessions" in statements[0]
    assert set(counts.values()) == {1}, counts


async def test_a_page_of_comments_is_one_statement_after_the_session_check(
    client: AsyncClient, recorded_statements: Any
) -> None:
    alice = await _feed(client)
    feed = (await client.get("/posts", headers=alice["headers"])).json()
    for post in feed[:5]:
        for n in range(3):
            await create_comment(client, alice["headers"], post["id"], f"comment {n}")
    for limit in (1, 20, 100):
        with recorded_statements() as statements:
            response = await client.get(
                f"/posts/{feed[0]['id']}/comments?limit={limit}", headers=alice["headers"]
            )
        assert response.status_code == 200 and response.json()
        # The `Caller` dependency's session check, then the page (behind its post).
        assert len(statements) == 2, statements
        assert "FROM sessions" in statements[0] and "FROM comments" in statements[1]


def test_a_field_and_its_column_must_agree() -> None:
    """A public model's fields and the columns of the statement that feeds it are matched by
    name when the statement is built (at import): a field without a column, or a column
    without a field, is an error then, not a wrong answer later."""
    posts = table_of(Post)
    owner = table_of(User).alias("owner")
    feeds_a_post = columns_for(
        PostPublic,
        posts,
        owner=columns_for(UserPublic, owner),
        votes=literal_column("0"),
        voted=false(),
        comments=literal_column("0"),
    )
    shape = Shape(PostPublic, select(*labelled(feeds_a_post)))
    assert shape.model is PostPublic

    class WithShares(PostPublic):
        shares: int

    with pytest.raises(ColumnsDisagree, match=r"WithShares\.shares"):
        columns_for(
            WithShares,
            posts,
            **{
                k: v
                for k, v in feeds_a_post.items()
                if k in {"owner", "votes", "voted", "comments"}
            },
        )
    with pytest.raises(ColumnsDisagree, match="no field for the columns"):
        columns_for(PostPublic, posts, **feeds_a_post, shares=literal_column("0"))
    missing_votes = [column for column in labelled(feeds_a_post) if column.name != "votes"]
    with pytest.raises(ColumnsDisagree, match=r"PostPublic\.votes"):
        Shape(PostPublic, select(*missing_votes))
    extra = [*labelled(feeds_a_post), literal_column("1").label("shares")]
    with pytest.raises(ColumnsDisagree, match="shares"):
        Shape(PostPublic, select(*extra))
