"""`python -m app.demo` seeds a scratch database once, a second run adds nothing, logins work.

The demo runs as a subprocess, as a developer would run it, against its own scratch database
(not the run's database, whose tables the other tests expect to be empty). The results are
checked in the database and through the HTTP API of the app served on the scratch database.
"""

import asyncio
import os
import re
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from app.cli.demo import ADMIN, COMMENTS, DEMO_PASSWORD, POSTS, USERS, email_of
from app.core.security import hash_password, verify_password
from app.db.engine import make_engine
from app.models import User
from tests.conftest import TEST_DB
from tests.database import TestDatabase
from tests.factories import bearer, login
from tests.live_server import free_port, running

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SUMMARY_LINE = re.compile(
    r"^  (users|posts|votes|comments): (\d+) created, (\d+) already there$", re.M
)
LOGIN_LINE = re.compile(r"^  (\S+@example\.com) +(\S+) +(.+)$", re.M)

EXPECTED = {
    "users": len(USERS),
    "posts": len(POSTS),
    "votes": sum(len(post.voters) for post in POSTS),
    "comments": len(COMMENTS),
}
ALL_NEW = {table: (count, 0) for table, count in EXPECTED.items()}
NOTHING_NEW = {table: (0, count) for table, count in EXPECTED.items()}


@pytest.fixture
def scratch_database() -> Iterator[TestDatabase]:
    database = TestDatabase.new(TEST_DB.server_url)
    database.create()
    yield database
    database.drop()


@pytest.fixture
async def scratch_engine(scratch_database: TestDatabase) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(scratch_database.url)
    yield engine
    await engine.dispose()  # before the database is dropped


async def run_demo(database_url: str, **settings: str) -> str:
    """Run `python -m app.demo` on `database_url`; its output, after checking it succeeded."""
    env = {**os.environ, "DATABASE_URL": database_url, "BCRYPT_ROUNDS": "4", "ENVIRONMENT": "test"}
    env.pop("PORT", None)
    env.update(settings)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app.demo",
        cwd=PROJECT_ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=120)
    finally:
        if process.returncode is None:  # timed out: leave no stray process behind
            process.kill()
            await process.wait()
    assert process.returncode == 0, stderr.decode()
    return stdout.decode()


def summary(output: str) -> dict[str, tuple[int, int]]:
    """{table: (created, already there)} from the demo's output."""
    return {
        table: (int(created), int(existing))
        for table, created, existing in SUMMARY_LINE.findall(output)
    }


def logins(output: str) -> list[tuple[str, str, str]]:
    return LOGIN_LINE.findall(output)


async def table_counts(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as connection:
        return {
            table: (await connection.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
            for table in EXPECTED
        }


@asynccontextmanager
async def scratch_client(database_url: str, log_path: Path) -> AsyncIterator[AsyncClient]:
    """An HTTP client for the app, served in its own process on the scratch database."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "ENVIRONMENT": "test"}
    uvicorn = ["-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", str(port)]
    with running(uvicorn, env, log_path, port=port) as base_url:
        async with AsyncClient(base_url=base_url) as client:
            yield client


async def test_demo_seeds_once_and_its_logins_work(
    scratch_database: TestDatabase, scratch_engine: AsyncEngine, tmp_path: Path
) -> None:
    first = await run_demo(scratch_database.url, PORT="8123")
    assert summary(first) == ALL_NEW
    # The docs' address on the port the server is told to use (PORT), and how to start it there.
    assert "(uv run fastapi dev --port 8123), open http://127.0.0.1:8123/docs" in first
    assert await table_counts(scratch_engine) == EXPECTED

    second = await run_demo(scratch_database.url)
    assert summary(second) == NOTHING_NEW
    assert "(uv run fastapi dev), open http://127.0.0.1:8000/docs" in second
    assert await table_counts(scratch_engine) == EXPECTED
    expected_logins = [
        (email_of(key), DEMO_PASSWORD, f"{name} (admin)" if key == ADMIN else name)
        for key, name in USERS.items()
    ]
    assert logins(first) == logins(second) == expected_logins
    assert "note:" not in second

    # Every printed login matches its stored hash.
    async with AsyncSession(scratch_engine) as session:
        for email, password, name in expected_logins:
            user = (await session.exec(select(User).where(col(User.email) == email))).one()
            assert user.name == name.removesuffix(" (admin)")
            assert user.is_admin == (email == email_of(ADMIN))  # one admin, and only one
            assert await verify_password(password, user.hashed_password, account=user.email_key)

    async with scratch_client(scratch_database.url, tmp_path / "server.log") as client:
        alice = bearer(await login(client, email_of("alice"), DEMO_PASSWORD))
        response = await client.get("/posts", params={"limit": 100}, headers=alice)
        assert response.status_code == 200, response.text
        seen = {post["title"]: post for post in response.json()}
        # Everything published, plus Alice's own draft; nobody else's draft.
        assert seen.keys() == {
            post.title for post in POSTS if post.published or post.author == "alice"
        }
        for post in POSTS:
            if post.title in seen:
                assert seen[post.title]["owner"]["name"] == USERS[post.author]
                assert seen[post.title]["published"] == post.published
                assert seen[post.title]["votes"] == len(post.voters)
                assert seen[post.title]["voted"] == ("alice" in post.voters)
                written = [c.body for c in COMMENTS if c.post == post.title]
                assert seen[post.title]["comments"] == len(written)
                listed = await client.get(
                    f"/posts/{seen[post.title]['id']}/comments", headers=alice
                )
                assert [comment["body"] for comment in listed.json()] == written

        bob = bearer(await login(client, email_of("bob"), DEMO_PASSWORD))
        response = await client.get("/posts", params={"search": "postgresql"}, headers=bob)
        assert response.status_code == 200, response.text
        # Alice's PostgreSQL draft stays hidden from Bob.
        assert [post["title"] for post in response.json()] == [
            post.title for post in POSTS if "PostgreSQL" in post.title and post.published
        ]

    # A password changed since the seeding: a third run still adds nothing, and says so.
    hashed = await hash_password("another-password", account=email_of("bob"))
    async with scratch_engine.begin() as connection:
        await connection.execute(
            update(User).where(col(User.email) == email_of("bob")).values(hashed_password=hashed)
        )
    third = await run_demo(scratch_database.url)
    assert summary(third) == NOTHING_NEW
    assert await table_counts(scratch_engine) == EXPECTED
    assert "note: bob@example.com no longer takes the demo password" in third
