"""The models and the migrations agree, and the migrations go down and up again."""

import asyncio
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.util.exc import CommandError
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import SQLModel

from app.db.migrations import PROJECT_ROOT, SCHEMA_HEAD, alembic_config
from app.models import email_key
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
    assert "ix_posts_created_at_id" in expected_indexes

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


async def _execute(url: str, *statements: str) -> list[tuple[object, ...]]:
    """Run SQL on `url`, committed; the rows of the last statement."""
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            rows: list[tuple[object, ...]] = []
            for statement in statements:
                result = await connection.execute(text(statement))
                rows = [tuple(row) for row in result] if result.returns_rows else []
            return rows
    finally:
        await engine.dispose()


def _users_at_0002(url: str, emails: list[str]) -> None:
    """A database at revision 0002 (addresses unique by lower(email)) with these accounts."""
    command.upgrade(alembic_config(url), "0002")
    values = ", ".join(
        f"('{email}', 'not-a-hash', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
        for email in emails
    )
    asyncio.run(
        _execute(
            url,
            "INSERT INTO users (email, hashed_password, created_at, tokens_valid_after) "
            f"VALUES {values}",
        )
    )


def test_existing_accounts_keep_their_address_and_get_its_canonical_key(
    scratch_database: TestDatabase,
) -> None:
    emails = ["Alice@Example.com", "bob@b\u00fccher.example", "Stra\u00dfe@x.com"]
    _users_at_0002(scratch_database.url, emails)
    command.upgrade(alembic_config(scratch_database.url), "head")
    rows = asyncio.run(_execute(scratch_database.url, "SELECT email, email_key FROM users"))
    assert sorted(rows) == sorted((email, email_key(email)) for email in emails)
    assert email_key("Stra\u00dfe@x.com") == "strasse@x.com"


def test_accounts_that_become_one_address_stop_the_migration_and_are_named(
    scratch_database: TestDatabase,
) -> None:
    # lower() kept these apart; full case folding makes them one address ("ß" is "ss").
    _users_at_0002(scratch_database.url, ["stra\u00dfe@x.com", "STRASSE@x.com", "ok@x.com"])
    with pytest.raises(Exception, match="1 group") as stopped:
        command.upgrade(alembic_config(scratch_database.url), "head")
    message = str(stopped.value)
    assert "user 1 <stra\u00dfe@x.com>" in message and "user 2 <STRASSE@x.com>" in message
    assert "ok@x.com" not in message
    # Nothing changed: still at 0002, both accounts as they were.
    version = asyncio.run(_execute(scratch_database.url, "SELECT version_num FROM alembic_version"))
    assert version == [("0002",)]
    rows = asyncio.run(_execute(scratch_database.url, "SELECT email FROM users ORDER BY id"))
    assert rows == [("stra\u00dfe@x.com",), ("STRASSE@x.com",), ("ok@x.com",)]


def test_a_generated_revision_is_numbered_in_sequence_and_passes_the_linters_quietly(
    scratch_database: TestDatabase, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """`alembic revision --autogenerate` (docs/operations.md, "Changing the schema") writes the next
    revision of the numbered sequence (0005 after 0004, in `..._0005_<message>.py`), in a file that
    `ruff check` and `ruff format --check` accept as generated (the post-write hooks in
    pyproject.toml format, then fix it), and says nothing alarming on the way (no "line too long ...
    remaining" from a linter run before the formatter). Generated into a copy of the project's
    Alembic set-up, so migrations/versions is untouched."""
    shutil.copy(PROJECT_ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    shutil.copytree(
        PROJECT_ROOT / "migrations",
        tmp_path / "migrations",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    command.upgrade(alembic_config(scratch_database.url), "head")
    # A difference for autogenerate to find: a table the models have and the database lacks,
    # whose foreign keys render as lines longer than the linter allows until formatted.
    asyncio.run(_execute(scratch_database.url, "DROP TABLE votes"))
    capfd.readouterr()

    config = Config(toml_file=str(tmp_path / "pyproject.toml"))
    config.attributes["database_url"] = scratch_database.url
    command.revision(config, message="add the votes table back", autogenerate=True)

    said = capfd.readouterr()
    printed = said.out + said.err
    for alarming in ("E501", "remaining", "Found", "error", "warning"):
        assert alarming not in printed, printed
    next_number = f"{int(SCHEMA_HEAD) + 1:04d}"
    (generated,) = (tmp_path / "migrations" / "versions").glob("*add_the_votes_table_back.py")
    assert generated.name.endswith(f"-{next_number}_add_the_votes_table_back.py")
    source = generated.read_text()
    assert f'revision: str = "{next_number}"' in source
    assert f'down_revision: str | Sequence[str] | None = "{SCHEMA_HEAD}"' in source
    assert "create_table" in source and "fk_votes_post_id_posts" in source
    project_config = PROJECT_ROOT / "pyproject.toml"  # the rules CI lints with
    for check in (["check"], ["format", "--check"]):
        result = subprocess.run(
            [sys.executable, "-m", "ruff", *check, "--config", str(project_config), str(generated)],
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stdout + result.stderr

    # A plain revision (no autogenerate) continues the sequence too.
    command.revision(config, message="move some data")
    (plain,) = (tmp_path / "migrations" / "versions").glob("*move_some_data.py")
    assert plain.name.endswith(f"-{int(next_number) + 1:04d}_move_some_data.py")

    # The database at a revision whose file is gone (deleted after it was applied): a new
    # revision would take its number and be counted as applied, so none is made.
    asyncio.run(_execute(scratch_database.url, "UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(CommandError, match="revision 9999, which is not in migrations/versions"):
        command.revision(config, message="lost")
    assert not list((tmp_path / "migrations" / "versions").glob("*lost.py"))
