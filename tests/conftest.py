"""Fixtures: one database per run, migrated with Alembic; each test's rows deleted after it.

Runs on SQLite by default; set TEST_DATABASE_URL (e.g. postgresql://postgres@127.0.0.1:5432/postgres)
to run on PostgreSQL: the suite creates its own uniquely named database there and drops it.
"""

import os

from tests.database import TestDatabase

# Before the app is imported: its settings and engine point at this run's own database.
TEST_DB = TestDatabase.new()
os.environ["DATABASE_URL"] = TEST_DB.url
os.environ["ENVIRONMENT"] = "test"
os.environ["SECRET_KEY"] = "test-secret-key-that-is-long-enough-for-hs256"
os.environ["BCRYPT_ROUNDS"] = "4"  # real bcrypt, at its lowest cost, so the suite is quick
os.environ["RATE_LIMIT_ENABLED"] = "false"  # many logins from one address; see test_rate_limits

from collections.abc import AsyncIterator, Iterator  # noqa: E402

import pytest  # noqa: E402
from httpx import ASGITransport, AsyncClient  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlmodel import SQLModel  # noqa: E402
from sqlmodel.ext.asyncio.session import AsyncSession  # noqa: E402

from app.core.config import settings  # noqa: E402
from app.db.engine import SessionFactory, engine  # noqa: E402
from app.db.migrations import upgrade_to_head  # noqa: E402
from app.main import app  # noqa: E402

assert TEST_DB.url == settings.DATABASE_URL, "the app must not touch any database but the run's own"

BASE_URL = "http://test"


def pytest_report_header() -> str:
    return f"database: {TEST_DB.dialect} ({TEST_DB.name or TEST_DB.url})"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if TEST_DB.dialect != "postgresql":
        skip = pytest.mark.skip(reason="needs PostgreSQL: set TEST_DATABASE_URL")
        for item in items:
            if "postgres_only" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(scope="session", autouse=True)
def database() -> Iterator[TestDatabase]:
    TEST_DB.create()
    try:
        upgrade_to_head(TEST_DB.url)
        yield TEST_DB
    finally:
        TEST_DB.drop()


@pytest.fixture(scope="session", autouse=True)
async def _dispose_engine(database: TestDatabase) -> AsyncIterator[None]:
    yield
    await engine.dispose()  # before the database is dropped


async def empty_tables() -> None:
    """Delete every row of this run's database (children first), so the next test starts empty."""
    async with engine.begin() as connection:
        for table in reversed(SQLModel.metadata.sorted_tables):
            await connection.execute(text(f"DELETE FROM {table.name}"))


@pytest.fixture
async def client() -> AsyncIterator[AsyncClient]:
    """An HTTP client for the app as it runs in production: a session per request, real
    commits, the read path on the engine's own pool. The tables are emptied afterwards."""
    try:
        async with AsyncClient(transport=ASGITransport(app=app), base_url=BASE_URL) as client:
            yield client
    finally:
        await empty_tables()


@pytest.fixture
async def session(client: AsyncClient) -> AsyncIterator[AsyncSession]:
    """A session of the test's own on the run's database, to look at (or change) what the app
    stored: commit what it changes, as the app sees only committed rows."""
    async with SessionFactory() as session:
        yield session
