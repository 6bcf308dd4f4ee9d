"""`EXPLAIN (ANALYZE, BUFFERS)` of the feed queries, with the SQL and parameters the app sends.

The statements are not rebuilt here: `capture_list_sql` calls the app's own service function
(`app.services.posts.list_posts`) on a real session over the benchmark database and records
every statement it executes (SQLAlchemy's `before_cursor_execute` event). Whatever the app's
query looks like after an optimisation, this explains that query.

This is the one place that depends on the app's internals (the service's name and keyword
arguments). If they change, `explain_feed` reports "explain unavailable: <reason>" instead of
failing the run: adjust `capture_list_sql`.
"""

import asyncio
from dataclasses import dataclass
from typing import Any

import psycopg


@dataclass(frozen=True)
class Captured:
    sql: str  # with psycopg placeholders (%(name)s), as the app's driver receives it
    params: Any


async def _capture(async_url: str, viewer_id: int, skip: int, search: str | None) -> list[Captured]:
    from sqlalchemy import event
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlmodel.ext.asyncio.session import AsyncSession

    from app.services.posts import list_posts  # the app's internals: see the module docstring

    engine = create_async_engine(async_url)
    captured: list[Captured] = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _record(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        captured.append(Captured(statement, params))

    try:
        async with AsyncSession(engine) as session:
            await list_posts(session, viewer_id, limit=10, skip=skip, search=search)
    finally:
        await engine.dispose()
    return [c for c in captured if c.sql.lstrip().upper().startswith(("SELECT", "WITH"))]


def capture_list_sql(
    async_url: str, viewer_id: int, skip: int = 0, search: str | None = None
) -> list[Captured]:
    """The SELECT statements `GET /posts?skip=&search=` runs (limit 10), as `viewer_id`."""
    return asyncio.run(_capture(async_url, viewer_id, skip, search))


def explain(url: str, captured: Captured) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) with the app's parameters (a custom plan, as the app's
    first executions of a statement get)."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "EXPLAIN (ANALYZE, BUFFERS) " + captured.sql,  # type: ignore[operator]
            captured.params,
        ).fetchall()
    return "\n".join(row[0] for row in rows)


def explain_feed(
    url: str, async_url: str, viewer_id: int, queries: dict[str, dict[str, Any]]
) -> dict[str, str]:
    """For each named query (keyword arguments for capture_list_sql): its SQL and plan."""
    plans: dict[str, str] = {}
    for name, arguments in queries.items():
        try:
            statements = capture_list_sql(async_url, viewer_id, **arguments)
            if not statements:
                raise RuntimeError("the service ran no SELECT")
            plans[name] = "\n\n".join(
                f"{c.sql.strip()}\n-- parameters: {c.params!r}\n{explain(url, c)}"
                for c in statements
            )
        except Exception as error:  # report it; never fail the run over this
            plans[name] = f"explain unavailable: {type(error).__name__}: {error}"
    return plans
