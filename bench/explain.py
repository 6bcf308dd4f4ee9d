"""`EXPLAIN (ANALYZE, BUFFERS)` of the feed queries, with the SQL and parameters the app sends.

The statements are not rebuilt here: `capture_list_sql` calls the app's own service function
(`app.services.posts.list_posts`) with the read path's `fetch` (`app.db.reads.fetch`) replaced
by one that records every query it is asked to run, then runs it on a real connection to the
benchmark database. Whatever the app's query looks like after an optimisation, this explains
that query.

This is the one place that depends on the app's internals (the service's name and keyword
arguments, `fetch`'s signature). If they change, `explain_feed` reports "explain unavailable:
<reason>" instead of failing the run: adjust `capture_list_sql`.
"""

import asyncio
from dataclasses import dataclass
from typing import Any

import psycopg


@dataclass(frozen=True)
class Captured:
    sql: str  # with psycopg placeholders (%(name)s), as the app's driver receives it
    params: Any


async def _capture(
    url: str, viewer_id: int, session_id: int, skip: int, search: str | None
) -> list[Captured]:
    # The app's internals: see the module docstring.
    from app.core.security import TokenClaims
    from app.db import reads
    from app.services.posts import list_posts

    captured: list[Captured] = []
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as connection:

        async def recording_fetch(
            query: reads.Compiled, params: Any, *, prepare: bool | None = None
        ) -> Any:
            captured.append(Captured(query.sql, dict(params)))
            cursor = await connection.execute(query.sql, params, prepare=prepare)
            return await cursor.fetchall()

        viewer = TokenClaims(user_id=viewer_id, session_id=session_id)
        original, reads.fetch = reads.fetch, recording_fetch  # type: ignore[assignment]
        try:
            await list_posts(viewer, limit=10, skip=skip, search=search)
        finally:
            reads.fetch = original
    return captured


def capture_list_sql(
    url: str, viewer_id: int, session_id: int, skip: int = 0, search: str | None = None
) -> list[Captured]:
    """The statements `GET /posts?skip=&search=` runs (limit 10), as `viewer_id` logged in
    through `session_id`."""
    return asyncio.run(_capture(url, viewer_id, session_id, skip, search))


def explain(url: str, captured: Captured) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) with the app's parameters (a custom plan, as the app's
    first executions of a statement get), on a connection whose caches are warm."""
    statement = "EXPLAIN (ANALYZE, BUFFERS) " + captured.sql
    with psycopg.connect(url, autocommit=True) as conn:
        # Planned once first: a new connection's first planning loads its catalog caches
        # (4-5 ms of "Planning Time" for a search at 200,000 posts, against 1.1-1.6 ms after),
        # which the app's pooled connections paid long ago.
        conn.execute("EXPLAIN " + captured.sql, captured.params)
        rows = conn.execute(statement, captured.params).fetchall()
    return "\n".join(row[0] for row in rows)


def explain_feed(url: str, viewer_id: int, queries: dict[str, dict[str, Any]]) -> dict[str, str]:
    """For each named query (keyword arguments for capture_list_sql): its SQL and plan."""
    plans: dict[str, str] = {}
    # The reads join the caller's session: the viewer gets a real one while they are explained.
    with psycopg.connect(url, autocommit=True) as conn:
        created = conn.execute(
            "INSERT INTO sessions (user_id, created_at, last_used_at)"
            " VALUES (%s, now(), now()) RETURNING id",
            [viewer_id],
        ).fetchone()
    assert created is not None
    try:
        _explain_each(url, viewer_id, created[0], queries, plans)
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("DELETE FROM sessions WHERE id = %s", [created[0]])
    return plans


def _explain_each(
    url: str,
    viewer_id: int,
    session_id: int,
    queries: dict[str, dict[str, Any]],
    plans: dict[str, str],
) -> None:
    for name, arguments in queries.items():
        try:
            statements = capture_list_sql(url, viewer_id, session_id, **arguments)
            if not statements:
                raise RuntimeError("the service ran no SELECT")
            plans[name] = "\n\n".join(
                f"{c.sql.strip()}\n-- parameters: {c.params!r}\n{explain(url, c)}"
                for c in statements
            )
        except Exception as error:  # report it; never fail the run over this
            plans[name] = f"explain unavailable: {type(error).__name__}: {error}"
