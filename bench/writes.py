"""What the write scenarios need before each run: the writers' own posts, a clean vote cycle.

Write scenarios run as fresh users the run registers (one per wrk thread, `writer_emails`):
whatever they write is removed with them afterwards (`seed.remove_bench_leftovers`). Before
each run of a write scenario, `prepare` gives it what it needs, so that it can also run again
(bench.compare runs each scenario once per round, on each side):

- `update`, `patch`, `delete`: fresh posts of each writer, one block of ids per wrk thread,
  inserted by PostgreSQL (one `INSERT ... SELECT FROM generate_series` per writer), enough that
  a DELETE run never runs out (a 404 would be an error);
- `vote`: none of the writers' votes, so that the cycle starts from "not voted".
"""

import math

import psycopg

from bench import seed, wrk

OWN_POST_SCENARIOS = ("update", "patch", "delete")
# Requests per second the owned posts are sized for: about the floor's rate on a 2-core
# machine (FastAPI and one query), which a DELETE (a read, a write and a commit) stays under.
# A thread that runs out anyway gets 404s, which count as errors: never hidden.
OWN_POSTS_RATE = 4_000
MIN_OWN_POSTS = 500  # per thread, for very short runs

# Old enough to be the end of the feed, not its head: the read scenarios' first pages stay the
# seed's.
_OWN_POSTS = """
WITH created AS (
    INSERT INTO posts (owner_id, title, content, published, created_at)
    SELECT %(owner)s, 'Bench post ' || n || ' to change', 'Written by the benchmark.', true,
           timestamptz '2000-01-01 00:00:00+00' + n * interval '1 second'
    FROM generate_series(1, %(count)s) AS n
    RETURNING id
)
SELECT min(id), max(id), count(*) FROM created
"""


def writer_emails(run_id: str) -> list[str]:
    """The fresh users a run registers for its write scenarios, one per wrk thread."""
    return [f"bench-{run_id}-{n}@{seed.EMAIL_DOMAIN}" for n in range(1, wrk.THREADS + 1)]


def own_posts_per_thread(duration: float) -> int:
    return max(MIN_OWN_POSTS, math.ceil(OWN_POSTS_RATE * duration / wrk.THREADS))


def prepare(name: str, database_url: str, run_id: str, duration: float) -> dict[str, str]:
    """Get the database ready for one run of scenario `name`; the environment its script
    needs besides `run.scenario_env`'s (nothing for scenarios other than the writes)."""
    if name not in (*OWN_POST_SCENARIOS, "vote"):
        return {}
    with psycopg.connect(database_url, autocommit=True) as conn:
        emails = writer_emails(run_id)  # wrk thread i gets writer i's token (run.tokens)
        rows = conn.execute("SELECT email, id FROM users WHERE email = ANY(%s)", [emails])
        ids: dict[str, int] = dict(rows.fetchall())
        if len(ids) != len(emails):
            raise RuntimeError(f"the writers of run {run_id} are not registered")
        writers = [ids[email] for email in emails]
        if name == "vote":
            conn.execute("DELETE FROM votes WHERE user_id = ANY(%s)", [writers])
            return {}
        count = own_posts_per_thread(duration)
        firsts = [_own_posts(conn, writer, count) for writer in writers]
    return {"BENCH_OWN_POSTS_FIRST": ",".join(map(str, firsts)), "BENCH_OWN_POSTS": str(count)}


def _own_posts(conn: psycopg.Connection, owner: int, count: int) -> int:
    """`count` new published posts of `owner`, ids first..first+count-1; returns first."""
    row = conn.execute(_OWN_POSTS, {"owner": owner, "count": count}).fetchone()
    assert row is not None
    first, last, created = row
    # One statement on a sequence nobody else draws from meanwhile: consecutive ids.
    if last - first + 1 != created:
        raise RuntimeError(f"posts {first}..{last} of user {owner} are not consecutive")
    return int(first)
