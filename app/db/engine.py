"""The async engine (one connection pool per worker process) and the request's session."""

import select
from collections.abc import AsyncIterator
from contextlib import suppress
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.config import settings
from app.db.sql import unicode_lower


def _configure_sqlite(engine: AsyncEngine) -> None:
    """Make SQLite behave like a real database: foreign keys, honest transactions."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy (not the sqlite3 module) emit BEGIN, so SAVEPOINTs work.
        dbapi_connection.isolation_level = None
        dbapi_connection.create_function("unicode_lower", 1, unicode_lower, deterministic=True)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")  # ON DELETE CASCADE needs it
        cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Sessions begin IMMEDIATE (`make_session_factory`): they take the write lock first,
        # so concurrent writers wait their turn (busy_timeout) rather than fail with "database
        # is locked" when a transaction that has read must turn into a writer. Reads stay
        # DEFERRED: in WAL mode they never wait for the writer.
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


def _postgresql_connect_args() -> dict[str, Any]:
    """psycopg connection options."""
    connect_args: dict[str, Any] = {"connect_timeout": settings.DB_CONNECT_TIMEOUT}
    if settings.DB_PGBOUNCER:
        # Transaction poolers hand each transaction to any server connection: prepared
        # statements would not be there, and startup options are refused.
        connect_args["prepare_threshold"] = None
    elif timeout := settings.DB_STATEMENT_TIMEOUT_MS:
        # No query may hold a connection for longer than this, nor a transaction left open
        # hold its locks.
        connect_args["options"] = (
            f"-c statement_timeout={timeout} -c idle_in_transaction_session_timeout={timeout}"
        )
    # A server that vanishes without a word (a dropped network) is noticed within a minute:
    # idle connections are probed, and data never acknowledged ends the connection.
    connect_args.update(
        keepalives=1, keepalives_idle=30, keepalives_interval=10, keepalives_count=3
    )
    connect_args["tcp_user_timeout"] = 60_000
    return connect_args


def _postgresql_options() -> dict[str, Any]:
    return {
        "pool_size": settings.DB_POOL_SIZE,
        "max_overflow": settings.DB_MAX_OVERFLOW,
        "pool_timeout": settings.DB_POOL_TIMEOUT,
        # The pool lends connections in autocommit, as the read path (app/db/reads.py) runs
        # them: one statement, no BEGIN or ROLLBACK round trips. Sessions turn transactions on
        # for as long as they hold one (`make_session_factory`).
        "isolation_level": "AUTOCOMMIT",
        # Not SQLAlchemy's pre-ping (a round trip per checkout, about 0.15 ms of CPU, a tenth of
        # a feed request): `_discard_if_ended` finds dead connections without one.
        "pool_pre_ping": False,
        # Nothing to reset: sessions roll back what they leave open, reads leave nothing open.
        "pool_reset_on_return": None,
        "connect_args": _postgresql_connect_args(),
    }


def _watch_socket(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
    """On a new connection: a poller of its socket, for `_discard_if_ended`."""
    poller = select.poll()
    poller.register(dbapi_connection.driver_connection.pgconn.socket, select.POLLIN)
    record.info["poller"] = poller


def _discard_if_ended(
    dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: PoolProxiedConnection
) -> None:
    """At checkout: a connection that has ended is replaced (SQLAlchemy reconnects when this
    raises DisconnectionError), so that a restart or failover no request saw costs no request.

    An idle connection has nothing to read. When the server ends it (a restart, a failover,
    pg_terminate_backend), it sends an error and closes the socket, which then polls readable:
    that is told without a round trip. A connection that a read found broken comes back closed.
    """
    if dbapi_connection.driver_connection.closed or record.info["poller"].poll(0):
        raise DisconnectionError("connection ended")


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    if url.startswith("sqlite"):
        engine = create_async_engine(url, **kwargs)
        _configure_sqlite(engine)
        return engine
    engine = create_async_engine(url, **{**_postgresql_options(), **kwargs})
    event.listen(engine.sync_engine.pool, "connect", _watch_socket)
    event.listen(engine.sync_engine.pool, "checkout", _discard_if_ended)
    return engine


def make_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    if engine.dialect.name == "postgresql":
        # Transactions for the session's statements; the connection goes back to the pool in
        # autocommit (SQLAlchemy resets the isolation level at checkin).
        engine = engine.execution_options(isolation_level="READ COMMITTED")
    else:
        engine = engine.execution_options(sqlite_begin="IMMEDIATE")  # see _configure_sqlite
    # expire_on_commit=False: objects stay readable after the service's commit.
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


engine = make_engine(settings.DATABASE_URL)
SessionFactory = make_session_factory(engine)


async def get_session() -> AsyncIterator[AsyncSession]:
    """The request's session (the `SessionDep` dependency). No commit here: teardown runs
    after the response is sent, so services commit."""
    session = SessionFactory()
    try:
        yield session
    finally:
        # The client has its answer by now: a database gone meanwhile is no error of its own.
        with suppress(DBAPIError):
            await session.close()
