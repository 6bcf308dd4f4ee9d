"""Fixtures: one database per run, migrated with Alembic; each test rolled back.

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

from collections.abc import AsyncIterator, Callable, Iterator  # noqa: E402
from contextlib import asynccontextmanager  # noqa: E402

import pytest  # noqa: E402
from httpx import ASGITransport, AsyncClient  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlmodel.ext.asyncio.session import AsyncSession  # noqa: E402

from app.config import settings  # noqa: E402
from app.db import SessionDep, engine, get_session  # noqa: E402
from app.main import app  # noqa: E402
from app.migrate import upgrade_to_head  # noqa: E402
from app.reads import SessionReader, get_reader, pool_reader  # noqa: E402

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
    # Before the database is dropped.
    if pool_reader is not None:
        await pool_reader.close()
    await engine.dispose()


@pytest.fixture
async def session() -> AsyncIterator[AsyncSession]:
    """A session inside an outer transaction that is rolled back after the test.

    The app's own commits become savepoint releases, so every test starts from empty tables.
    """
    async with engine.connect() as connection:
        transaction = await connection.begin()
        session = AsyncSession(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        try:
            yield session
        finally:
            await session.close()
            await transaction.rollback()


async def _session_reader(session: SessionDep) -> SessionReader:
    return SessionReader(session)


@asynccontextmanager
async def app_client(
    sessions: Callable[[], AsyncIterator[AsyncSession]],
) -> AsyncIterator[AsyncClient]:
    """An HTTP client for the app whose requests get their session from `sessions`."""
    app.dependency_overrides[get_session] = sessions
    # Reads too go through that session (on PostgreSQL: the same psycopg calls as the read
    # pool's, on the session's connection), so that they see what the test wrote.
    app.dependency_overrides[get_reader] = _session_reader
    try:
        async with AsyncClient(transport=ASGITransport(app=app), base_url=BASE_URL) as client:
            yield client
    finally:
        app.dependency_overrides.pop(get_session, None)
        app.dependency_overrides.pop(get_reader, None)


@pytest.fixture
async def client(session: AsyncSession) -> AsyncIterator[AsyncClient]:
    """An HTTP client for the app, its database work inside the test's transaction."""

    async def _test_session() -> AsyncIterator[AsyncSession]:
        yield session

    async with app_client(_test_session) as client:
        yield client


@pytest.fixture
async def committing_client() -> AsyncIterator[AsyncClient]:
    """An HTTP client for the app as it runs: a session per request, real commits.

    For races between connections. The tables are emptied afterwards (this run's own database).
    """
    try:
        async with AsyncClient(transport=ASGITransport(app=app), base_url=BASE_URL) as client:
            yield client
    finally:
        async with engine.begin() as connection:
            for table in ("votes", "posts", "users"):
                await connection.execute(text(f"DELETE FROM {table}"))
