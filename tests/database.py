"""The throwaway database a test run creates, migrates and drops."""

import os
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

# No `app` imports here: conftest must set DATABASE_URL before the app reads its settings.


@dataclass
class TestDatabase:
    url: str  # async SQLAlchemy URL of the run's own database
    server_url: str | None = None  # PostgreSQL: where to CREATE / DROP it
    name: str = ""
    directory: Path | None = None  # SQLite: the temporary folder holding the file

    __test__ = False  # not a test class

    @property
    def dialect(self) -> str:
        return make_url(self.url).get_backend_name()

    @classmethod
    def new(cls, server_url: str | None = None) -> "TestDatabase":
        """A new, uniquely named database on `TEST_DATABASE_URL`'s server, else a SQLite file."""
        server_url = server_url or os.environ.get("TEST_DATABASE_URL") or None
        name = f"test_posts_{uuid.uuid4().hex[:12]}"
        if server_url is None:
            directory = Path(tempfile.mkdtemp(prefix="posts-api-"))
            return cls(url=f"sqlite+aiosqlite:///{directory / name}.db", directory=directory)
        url = make_url(server_url).set(drivername="postgresql+psycopg", database=name)
        return cls(url=url.render_as_string(hide_password=False), server_url=server_url, name=name)

    def _admin(self) -> psycopg.Connection:
        assert self.server_url is not None
        dsn = make_url(self.server_url).set(drivername="postgresql")
        return psycopg.connect(dsn.render_as_string(hide_password=False), autocommit=True)

    def create(self) -> None:
        if self.server_url is not None:
            with self._admin() as admin:
                admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.name)))

    def drop(self) -> None:
        if self.server_url is not None:
            with self._admin() as admin:
                admin.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                        sql.Identifier(self.name)
                    )
                )
        elif self.directory is not None:
            for file in self.directory.iterdir():
                file.unlink()
            self.directory.rmdir()
