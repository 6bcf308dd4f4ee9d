"""Alembic environment: async engines (psycopg 3 / aiosqlite), the app's metadata."""

import asyncio
import logging

from alembic import context
from alembic.operations.ops import MigrationScript
from alembic.runtime.migration import MigrationContext, MigrationInfo
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import SQLModel

import app.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from app.core.config import settings

config = context.config
target_metadata = SQLModel.metadata

if config.cmd_opts is not None and not logging.getLogger().handlers:
    # From the `alembic` command line: say which migrations run (the app logs its own way).
    logging.basicConfig(level=logging.INFO, format="%(message)s")


def database_url() -> str:
    # Tests and tools pass their own URL; otherwise the app's DATABASE_URL.
    return config.attributes.get("database_url") or settings.DATABASE_URL


def record_applied(*, step: MigrationInfo, **_: object) -> None:
    # app.db.migrations.upgrade_to_head passes a list, to say which revisions it applied.
    applied = config.attributes.get("applied_revisions")
    if applied is not None and step.is_upgrade:
        applied.extend(step.up_revision_ids)


def number_in_sequence(
    migration_context: MigrationContext, revision: object, directives: list[MigrationScript]
) -> None:
    """New revisions continue the numbered sequence (0001, 0002, ...: `..._0005_add_x.py` with
    revision "0005") instead of Alembic's random ids, unless `--rev-id` names one. Refused while
    the database is at a revision that is not in migrations/versions: the new one would take
    that revision's number, and the database would count it as applied."""
    scripts = ScriptDirectory.from_config(config)
    known = {script.revision for script in scripts.walk_revisions()}
    current = migration_context.get_current_revision()
    if current is not None and current not in known:
        raise CommandError(
            f"the database is at revision {current}, which is not in migrations/versions: "
            "put that file back first (docs/operations.md, 'Undo a revision')"
        )
    if config.cmd_opts is not None and getattr(config.cmd_opts, "rev_id", None):
        return
    numbers = [int(revision) for revision in known if revision.isdigit()]
    for offset, script in enumerate(directives, start=1):
        script.rev_id = f"{max(numbers, default=0) + offset:04d}"


def configure(connection: Connection | None = None, **kwargs: object) -> None:
    dialect = connection.dialect.name if connection is not None else database_url().split(":")[0]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        # SQLite cannot ALTER most things: batch mode recreates tables instead.
        render_as_batch=dialect.startswith("sqlite"),
        on_version_apply=record_applied,
        process_revision_directives=number_in_sequence,
        **kwargs,  # type: ignore[arg-type]
    )


def run_migrations_offline() -> None:
    configure(url=database_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def do_run_migrations(connection: Connection) -> None:
    configure(connection)
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations() -> None:
    engine = create_async_engine(database_url(), poolclass=pool.NullPool)
    async with engine.connect() as connection:
        await connection.run_sync(do_run_migrations)
    await engine.dispose()


def run_migrations_online() -> None:
    # A caller that already holds a connection (the tests) passes it in.
    connection = config.attributes.get("connection")
    if connection is not None:
        do_run_migrations(connection)
    else:
        asyncio.run(run_async_migrations())


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
