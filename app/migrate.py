"""Bring a database to the latest Alembic migration (`python -m app.migrate`)."""

from pathlib import Path

from alembic import command
from alembic.config import Config

from app.config import settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def alembic_config(database_url: str | None = None) -> Config:
    config = Config(toml_file=str(PROJECT_ROOT / "pyproject.toml"))
    config.attributes["database_url"] = database_url or settings.DATABASE_URL
    return config


def upgrade_to_head(database_url: str | None = None) -> None:
    """Blocking (Alembic runs its own event loop): call it from a thread inside async code."""
    command.upgrade(alembic_config(database_url), "head")


if __name__ == "__main__":
    upgrade_to_head()
    print("database is at the latest migration")
