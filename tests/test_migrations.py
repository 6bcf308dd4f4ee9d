"""The models and the migrations agree, and the migrations go down and up again."""

import asyncio
import warnings

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import SQLModel

from app.db.migrations import alembic_config
from tests.conftest import TEST_DB
from tests.database import TestDatabase


def _diff_and_indexes(url: str) -> tuple[list[object], set[str], set[str]]:
    """Autogenerate's diff against the models, the tables and the index names in the database."""

    async def inspect_db() -> tuple[list[object], set[str], set[str]]:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as connection:

                def sync_part(conn: object) -> tuple[list[object], set[str], set[str]]:
                    context = MigrationContext.configure(conn, opts={"compare_type": True})  # type: ignore[arg-type]
                    with warnings.catch_warnings():
                        # SQLite cannot reflect expression indexes (lower(email)); checked below.
                        warnings.filterwarnings("ignore", "autogenerate skipping")
                        warnings.filterwarnings("ignore", "Skipped unsupported reflection")
                        diff = compare_metadata(context, SQLModel.metadata)
                    tables = set(inspect(conn).get_table_names())  # type: ignore[arg-type]
                    return diff, tables, set()

                diff, tables, _ = await connection.run_sync(sync_part)
                if connection.dialect.name == "sqlite":
                    query = "SELECT name FROM sqlite_master WHERE type = 'index'"
                else:
                    query = "SELECT indexname FROM pg_indexes WHERE schemaname = 'public'"
                indexes = set((await connection.execute(text(query))).scalars())
                return diff, tables, indexes
        finally:
            await engine.dispose()

    return asyncio.run(inspect_db())


@pytest.fixture
def scratch_database() -> TestDatabase:
    database = TestDatabase.new(TEST_DB.server_url)
    database.create()
    yield database
    database.drop()


def test_models_and_migrations_agree_and_downgrade_upgrade_round_trips(
    scratch_database: TestDatabase,
) -> None:
    config = alembic_config(scratch_database.url)
    expected_indexes = {
        index.name for table in SQLModel.metadata.tables.values() for index in table.indexes
    }
    assert "uq_users_email_lower" in expected_indexes

    command.upgrade(config, "head")
    diff, tables, indexes = _diff_and_indexes(scratch_database.url)
    assert diff == []
    assert {"users", "posts", "votes"} <= tables
    assert expected_indexes <= indexes

    command.downgrade(config, "base")
    diff, tables, indexes = _diff_and_indexes(scratch_database.url)
    assert tables == {"alembic_version"}

    command.upgrade(config, "head")
    diff, tables, indexes = _diff_and_indexes(scratch_database.url)
    assert diff == []
    assert expected_indexes <= indexes
