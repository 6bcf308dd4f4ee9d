"""The migration runner: Alembic's configuration, the revision the code needs, upgrading, and
waiting for a database that is not up yet (`python -m app.migrate`, app/cli/migrate.py)."""

import asyncio
import time
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from app.core.config import settings

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def alembic_config(database_url: str | None = None) -> Config:
    config = Config(toml_file=str(PROJECT_ROOT / "pyproject.toml"))
    config.attributes["database_url"] = database_url or settings.DATABASE_URL
    return config


# The revision this code needs, and every revision it has, read once from migrations/versions
# (the dev server re-reads them when it reloads after a file there changed).
_SCRIPTS = ScriptDirectory.from_config(alembic_config())
SCHEMA_HEAD = _SCRIPTS.get_current_head()
KNOWN_REVISIONS = frozenset(script.revision for script in _SCRIPTS.walk_revisions())


def upgrade_to_head(database_url: str | None = None) -> list[str]:
    """Bring the database to the latest revision; the revisions applied, oldest first (none
    when it already was there). Blocking (Alembic runs its own event loop): call it from a
    thread inside async code."""
    config = alembic_config(database_url)
    applied: list[str] = []
    config.attributes["applied_revisions"] = applied  # filled by migrations/env.py
    command.upgrade(config, "head")
    return applied


def upgrade_report(applied: list[str]) -> str:
    """What `upgrade_to_head` did, in one line: a run that applied revisions says which."""
    done = f"applied {', '.join(applied)}" if applied else "nothing to apply"
    return f"{done}: the database is at the latest revision ({SCHEMA_HEAD})"


async def current_revision(connection: AsyncConnection) -> str | None:
    """The revision the database is at: None when it was never migrated."""
    try:
        result = await connection.execute(text("SELECT version_num FROM alembic_version"))
        return result.scalar_one_or_none()
    except DBAPIError:  # no alembic_version table: never migrated
        return None


async def is_empty(connection: AsyncConnection) -> bool:
    """No table at all: a new database (a fresh clone's app.db, a new PostgreSQL database)."""
    names = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
    return not names


async def schema_problem(connection: AsyncConnection) -> str | None:
    """Why the database's schema does not fit this code, with what to do about it here (see
    `schema_advice`), or None when it fits. The start-up log and /health/db both say this."""
    return schema_advice(await current_revision(connection), settings.ENVIRONMENT)


def schema_advice(current: str | None, environment: str) -> str | None:
    """One advice for a database at revision `current` (None: never migrated), right for the
    environment: a developer types `alembic upgrade head` (the dev server migrates only a new,
    empty database); anywhere else migrations are the deploy's migrate step. From a revision
    this code does not have, neither can migrate (Alembic cannot locate it): its file was
    deleted after it was applied, or a newer version of the code migrated the database."""
    if current == SCHEMA_HEAD:
        return None
    if current is not None and current not in KNOWN_REVISIONS:
        if environment == "development":
            return (
                f"the database is at revision {current}, which is not in migrations/versions "
                "(a revision file deleted after it was applied?): put the file back and "
                "`uv run alembic downgrade -1`, or see docs/operations.md, 'Undo a revision'"
            )
        return (
            f"the database is at revision {current}, which is not in migrations/versions "
            "(a newer version of the code migrated it, or a revision file was deleted after it "
            "was applied): deploy the code that has it, or see docs/operations.md, "
            "'Undo a revision'"
        )
    behind = f"the database schema is at revision {current or 'none'}, the code needs {SCHEMA_HEAD}"
    if environment == "development":
        return (
            f"{behind}: read the new revisions in migrations/versions, then run "
            "`uv run alembic upgrade head` (the dev server never migrates a database that "
            "already has a schema)"
        )
    return f"{behind}: run the migrate step (python -m app.migrate)"


def development_schema_problem(current: str | None) -> str | None:
    """`schema_advice` in development (the dev server's start-up)."""
    return schema_advice(current, "development")


def migration_error_message(error: BaseException) -> str:
    """A failed upgrade in a few lines: what went wrong and what to do."""
    if isinstance(error, CommandError):  # Alembic's own: an unknown revision, two heads, ...
        return (
            f"the migration cannot run: {error}\n"
            "a revision file missing or edited after it was applied? "
            "See docs/operations.md, 'Undo a revision'."
        )
    if isinstance(error, DBAPIError | OSError) and can_heal(error):
        return f"the database cannot be reached: {connection_problem(error)}"
    cause = str(getattr(error, "orig", None) or error).strip() or type(error).__name__
    return (
        f"a migration failed ({type(error).__name__}): {cause}\n"
        "fix the data or the revision file in migrations/versions, then run it again"
    )


# What heals by itself while a database starts, restarts or its host name appears: retried.
# Anything else (no such database or role, a wrong password, ...) is reported at once.
_TRANSIENT = (
    "connection refused",
    "timeout expired",
    "timed out",
    "the database system is starting up",
    "the database system is shutting down",
    "the database system is in recovery mode",
    "server closed the connection unexpectedly",
    "connection reset",
    "no route to host",
    "network is unreachable",
    "name or service not known",
    "temporary failure in name resolution",
    "could not translate host name",
    "failed to resolve host",
    "too many clients",
    "too many connections",
    "remaining connection slots are reserved",
)

# What to do about the errors that do not heal, by a piece of their message.
_FIXES = (
    ("does not exist", "create it, or fix DATABASE_URL"),
    ("password authentication failed", "the password in DATABASE_URL is wrong"),
    ("no password supplied", "DATABASE_URL needs the password"),
    ("no pg_hba.conf entry", "the server refuses this user/host: check DATABASE_URL"),
    ("unable to open database file", "the SQLite file's folder is missing or not writable"),
)


def connection_problem(error: BaseException) -> str:
    """The cause of a failed connection in one line (the driver's words, without its prefix)."""
    message = str(getattr(error, "orig", None) or error)
    first = " ".join(message.splitlines()[0].split()) if message.strip() else type(error).__name__
    return first.rpartition(" failed: ")[2] if " failed: FATAL: " in first else first


def can_heal(error: BaseException) -> bool:
    """Whether waiting may cure this connection error (the database is starting, ...)."""
    if isinstance(error, TimeoutError | ConnectionRefusedError):
        return True
    message = str(getattr(error, "orig", None) or error).lower()
    return any(piece in message for piece in _TRANSIENT)


def how_to_fix(error: BaseException) -> str:
    message = str(getattr(error, "orig", None) or error).lower()
    for piece, fix in _FIXES:
        if piece in message:
            return fix
    return "check DATABASE_URL"


def wait_for_database(database_url: str, timeout: float) -> None:
    """Retry connecting (with backoff) while the error is one that heals (the database is not
    up yet) and `timeout` has not run out; stop at once on any other."""

    async def ping() -> None:
        engine = create_async_engine(database_url, connect_args=_connect_args(database_url))
        try:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        finally:
            await engine.dispose()

    deadline = time.monotonic() + timeout
    delay = 0.5
    while True:
        try:
            asyncio.run(ping())
            return
        except (DBAPIError, OSError) as error:
            problem = connection_problem(error)
            if not can_heal(error):
                raise SystemExit(
                    f"cannot connect to the database: {problem}\n{how_to_fix(error)}"
                ) from None
            if time.monotonic() + delay > deadline:
                raise SystemExit(
                    f"database not reachable after {timeout:.0f}s: {problem}\n"
                    "is it running, and are the host and port in DATABASE_URL right? "
                    "(MIGRATE_WAIT_SECONDS sets how long to wait)"
                ) from None
            print(f"waiting for the database ({problem}); retrying in {delay:.1f}s", flush=True)
            time.sleep(delay)
            delay = min(delay * 2, 5)


def _connect_args(database_url: str) -> dict[str, object]:
    if database_url.startswith("postgresql"):
        return {"connect_timeout": settings.DB_CONNECT_TIMEOUT}
    return {}
