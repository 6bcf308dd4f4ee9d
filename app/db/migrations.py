"""The migration runner: Alembic's configuration, the revision the code needs, upgrading, and
waiting for a database that is not up yet (`python -m app.migrate`, app/cli/migrate.py)."""

import asyncio
import time
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from app.core.config import settings

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def alembic_config(database_url: str | None = None) -> Config:
    config = Config(toml_file=str(PROJECT_ROOT / "pyproject.toml"))
    config.attributes["database_url"] = database_url or settings.DATABASE_URL
    return config


# The revision this code needs, read once from migrations/versions.
SCHEMA_HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()


def upgrade_to_head(database_url: str | None = None) -> None:
    """Blocking (Alembic runs its own event loop): call it from a thread inside async code."""
    command.upgrade(alembic_config(database_url), "head")


async def schema_problem(connection: AsyncConnection) -> str | None:
    """Why the database's schema does not fit this code, or None when it does."""
    try:
        result = await connection.execute(text("SELECT version_num FROM alembic_version"))
        current = result.scalar_one_or_none()
    except DBAPIError:  # no alembic_version table: never migrated
        current = None
    if current == SCHEMA_HEAD:
        return None
    return (
        f"database schema is at revision {current or 'none'}, the code needs {SCHEMA_HEAD}: "
        "run the migrate step (python -m app.migrate)"
    )


def wait_for_database(database_url: str, timeout: float) -> None:
    """Retry connecting (with backoff) until the database answers or `timeout` runs out."""

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
            if time.monotonic() + delay > deadline:
                raise SystemExit(f"database not reachable after {timeout:.0f}s: {error}") from None
            print(f"waiting for the database ({type(error).__name__}); retrying in {delay:.1f}s")
            time.sleep(delay)
            delay = min(delay * 2, 5)


def _connect_args(database_url: str) -> dict[str, object]:
    if database_url.startswith("postgresql"):
        return {"connect_timeout": settings.DB_CONNECT_TIMEOUT}
    return {}
