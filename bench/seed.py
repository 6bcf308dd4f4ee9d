"""The benchmark databases: create, migrate, seed in bulk on the server, reuse, clean up, drop.

Each dataset lives in its own database, `bench_posts_<posts>` (`bench_smoke_posts_<posts>` for
`--smoke`), on the PostgreSQL server given by `--server`. Seeding is a few `INSERT ... SELECT
FROM generate_series` statements run by PostgreSQL itself in one transaction: no Python loop
over rows, so a million posts and five million votes take well under a minute.
"""

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import bcrypt
import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from app.core.config import to_async_url
from app.db.migrations import upgrade_to_head

Log = Callable[[str], None]  # prints a progress line

# The password of every seeded user (and of the fresh users the run registers).
PASSWORD = "bench-password"
EMAIL_DOMAIN = "bench.example"
VOTES_PER_POST = 5
COMMENTS_PER_POST = 2
BCRYPT_COST = 12  # production's (the app runs with BCRYPT_ROUNDS=12 here, bench/server.py)
# Bump when the seed rules below change: a kept database with another marker is re-seeded.
# It is part of the database's name too (see Dataset.name).
SEED_VERSION = 3

# 200 title words, none a substring of another, so `search=<word>` matches exactly the titles
# holding that word. A title has 4 of them, so each word is in about 2% of the titles.
_WORDS = """
amber anchor apple autumn badge bakery ballad bamboo banner barley basket beacon beetle bishop
blanket blossom bonfire border bottle bramble breeze bridge bronze bucket buffalo butter cabin
cactus camera candle canyon carpet castle cellar cherry chimney circus citadel clover cobalt
coffee comet copper coral cotton cradle crater cricket crystal cymbal dagger desert diamond
dolphin donkey dragon drizzle eagle ember engine falcon feather fern ferry festival fiddle fjord
flute forest fossil fountain galaxy garden garlic geyser ginger glacier goblet granite gravel
guitar hammer harbor harvest hazel helmet heron honey horizon iceberg igloo island ivory jacket
jaguar jasmine jungle kettle kingdom kitten ladder lagoon lantern lemon lichen lizard lobster
locket magnet mango maple marble meadow melody mirror monsoon mosaic muffin mural nectar needle
nutmeg oasis olive orbit orchard otter oyster paddle palace panther parrot pebble pepper pigeon
pillow pirate planet pocket pollen potato prairie puzzle quartz quiver rabbit radish raven reef
ribbon riddle river rocket saddle saffron salmon satchel scarf shadow signal silver sketch
sparrow spider spiral squirrel summit sunset tablet tandem teapot thistle thunder tiger timber
tomato tornado trumpet tulip tundra turtle umbrella valley velvet violin volcano voyage walnut
walrus wander whistle willow window winter wizard yogurt zephyr zinnia hollow meteor
"""
VOCABULARY = _WORDS.split()
# In posts 1, 10001, 20001, ...: about 0.01% of the titles (and at least one in any dataset),
# for a selective search.
RARE_WORD = "quetzal"
RARE_EVERY = 10_000
# In posts 7, 1007, 2007, ... (all published): 0.1% of the titles, the search-rare scenario's
# word. Its rate should not fall with the dataset's size (issue 13).
SCARCE_WORD = "narwhal"
SCARCE_EVERY = 1_000
SCARCE_FIRST = 7  # not a draft's id (multiples of 10), and never one of the rare word's posts
# What the search scenario cycles over: four common words (~2% of titles each), the rare one.
SEARCH_WORDS = ("river", "garden", "copper", "signal", RARE_WORD)

assert len(VOCABULARY) == 200 and len(set(VOCABULARY)) == 200
_ALL_WORDS = [*VOCABULARY, RARE_WORD, SCARCE_WORD]
assert not any(a in b for a in _ALL_WORDS for b in _ALL_WORDS if a != b)
assert SCARCE_EVERY % 10 == 0 and SCARCE_FIRST % 10 != 0 and SCARCE_FIRST != 1


@dataclass(frozen=True)
class Dataset:
    posts: int
    users: int
    smoke: bool = False
    # bench.compare: the checkout of an earlier commit whose migrations shape this database
    # (None: this checkout's), and the database name's suffix that keeps it apart.
    migrations_from: str | None = None
    suffix: str = ""

    @property
    def name(self) -> str:
        # With the seed's version: checkouts with different seeds (two branches benchmarked at
        # the same time) keep their own databases instead of re-seeding each other's.
        kind = "smoke_" if self.smoke else ""
        return f"bench_{kind}posts_{self.posts}_v{SEED_VERSION}{self.suffix}"

    @property
    def votes(self) -> int:
        return self.posts * VOTES_PER_POST

    @property
    def comments(self) -> int:
        return self.posts * COMMENTS_PER_POST

    @property
    def published(self) -> int:
        """Posts 10, 20, 30, ... are drafts; every other post is published."""
        return self.posts - self.posts // 10

    @property
    def marker(self) -> str:
        # Stored as the database's comment once the seed has committed.
        return (
            f"posts-api bench seed v{SEED_VERSION}: users={self.users} posts={self.posts} "
            f"votes={self.votes} comments={self.comments} (where the schema has comments)"
        )


@dataclass(frozen=True)
class Prepared:
    url: str  # plain postgresql:// URL of the dataset's database
    reused: bool
    seed_seconds: float | None  # None when reused


def database_url(server_url: str, database: str) -> str:
    url = make_url(server_url).set(drivername="postgresql", database=database)
    return url.render_as_string(hide_password=False)


def _admin(server_url: str) -> psycopg.Connection:
    return psycopg.connect(
        database_url(server_url, make_url(server_url).database or "postgres"), autocommit=True
    )


def exists(server_url: str, database: str) -> bool:
    with _admin(server_url) as admin:
        row = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
    return row is not None


def create(server_url: str, database: str) -> None:
    with _admin(server_url) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))


def drop(server_url: str, database: str) -> None:
    with _admin(server_url) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
        )


def migrate(url: str, checkout: str | None = None) -> None:
    """The app's own migrations (Alembic), exactly as a deploy runs them; those of another
    checkout (an earlier commit, for bench.compare) in a process of their own."""
    if checkout is None:
        upgrade_to_head(to_async_url(url))
        return
    subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head"],
        cwd=checkout,
        env={**os.environ, "DATABASE_URL": url, "ENVIRONMENT": "development"},
        check=True,
        stdout=subprocess.DEVNULL,
    )


def prepare(server_url: str, dataset: Dataset, log: Log) -> Prepared:
    """The dataset's database, seeded: reused when a complete earlier seed is there."""
    url = database_url(server_url, dataset.name)
    if exists(server_url, dataset.name):
        before = revision(url)
        migrate(url, dataset.migrations_from)  # the migrations added since its seed
        if revision(url) != before:
            # New indexes (expression indexes above all) need statistics. Otherwise a kept
            # database keeps those of its seed, so that its plans stay the same between runs.
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("ANALYZE users, posts, votes")  # comments: a new seed (its marker)
        problem = reuse_problem(url, dataset)
        if problem is None:
            log(f"reusing database {dataset.name} (seeded earlier)")
            return Prepared(url=url, reused=True, seed_seconds=None)
        log(f"re-creating database {dataset.name}: {problem}")
        drop(server_url, dataset.name)
    create(server_url, dataset.name)
    migrate(url, dataset.migrations_from)
    started = time.monotonic()
    seed(url, dataset, log)
    seconds = time.monotonic() - started
    log(f"seeded {dataset.name} in {seconds:.1f}s")
    return Prepared(url=url, reused=False, seed_seconds=seconds)


def revision(url: str) -> str | None:
    with psycopg.connect(url) as conn:
        try:
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        except psycopg.errors.UndefinedTable:
            return None
    return row[0] if row else None


def reuse_problem(url: str, dataset: Dataset) -> str | None:
    """Why a kept database cannot be reused as it is (None: it can)."""
    remove_bench_leftovers(url, dataset)
    with psycopg.connect(url, autocommit=True) as conn:
        marker = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database "
            "WHERE datname = current_database()"
        ).fetchone()
        if marker is None or marker[0] != dataset.marker:
            return "no complete seed of this version and size"
        counts = conn.execute(
            "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM posts), "
            "(SELECT count(*) FROM votes)"
        ).fetchone()
        expected = (dataset.users, dataset.posts, dataset.votes)
        if counts != expected:
            return f"row counts (users, posts, votes) are {counts}, expected {expected}"
        if has_comments(conn):
            (comments,) = conn.execute("SELECT count(*) FROM comments").fetchone() or (0,)
            if comments != dataset.comments:
                return f"{comments} comments, expected {dataset.comments}"
    return None


def has_comments(conn: psycopg.Connection) -> bool:
    """Whether the schema has comments (an earlier commit's, for bench.compare, may not)."""
    found = conn.execute("SELECT to_regclass('comments')").fetchone()
    return found is not None and found[0] is not None


def remove_bench_leftovers(url: str, dataset: Dataset) -> None:
    """Delete what a run added (its fresh users, their posts and votes; created posts; sessions).

    Runs never touch seeded rows: scenarios that write use fresh users (ids past the seeded
    ones), so deleting those users (ON DELETE CASCADE) and posts past the seeded ids brings a
    kept database back to its seeded state (every session comes from a run's login). VACUUM
    then clears the dead rows and REINDEX rebuilds the indexes: VACUUM leaves an index as
    large as the run made it. The write scenarios insert and delete at the newest end of the
    feed index, where every feed read starts (15.6 MB for the 1,000 posts of a kept database,
    against 49 kB freshly seeded), and every run's logins fill the sessions' index, which every
    read checks. So the next run starts from the same physical state as the seed (about 10 s
    at 1,000,000 posts). Not ANALYZE: a new random sample can change plans (the
    estimate for `title ILIKE '%word%'` depends on which titles the sample holds), and a kept
    database should give the same plans from one run to the next.
    """
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DELETE FROM posts WHERE id > %s", [dataset.posts])
        conn.execute("DELETE FROM users WHERE id > %s", [dataset.users])
        tables = ["users", "posts", "votes"]
        found = conn.execute("SELECT to_regclass('sessions')").fetchone()
        if found is not None and found[0] is not None:  # not in an earlier commit's schema
            conn.execute("DELETE FROM sessions")  # every session here is a run's login
            tables += ["sessions", "refresh_tokens"]
        if has_comments(conn):  # a run's comments went with its users and posts
            tables.append("comments")
        conn.execute(sql.SQL("VACUUM {}").format(sql.SQL(", ").join(map(sql.Identifier, tables))))
        for table in tables:
            conn.execute(sql.SQL("REINDEX TABLE {}").format(sql.Identifier(table)))


# --- seeding ---------------------------------------------------------------------------------

# Secondary indexes (not backing a constraint) of the seeded tables: dropped before the bulk
# load and re-created after it, from their own definitions, which is several times faster
# than maintaining them row by row (the trigram GIN index above all). Read from the catalog,
# so indexes added by future migrations are handled too.
_SECONDARY_INDEXES = """
SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
FROM pg_index i
JOIN pg_class t ON t.oid = i.indrelid
WHERE t.relnamespace = 'public'::regnamespace
  AND t.relname IN ('users', 'posts', 'votes', 'comments')
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
"""

_USERS = """
INSERT INTO users (id, email, name, hashed_password, created_at{columns})
SELECT u,
       'user' || u || '@' || %(domain)s,
       'Bench User ' || u,
       %(hash)s,
       now() - interval '400 days' + u * interval '1 minute'{values}
FROM generate_series(1, %(users)s) AS u
"""
# Required columns that not every schema has: bench.compare seeds earlier commits' schemas too.
_SCHEMA_DEPENDENT_USER_COLUMNS = {
    "email_key": "'user' || u || '@' || lower(%(domain)s)",  # since migration 0003
    "tokens_valid_after": "timestamptz '2020-01-01 00:00:00+00'",  # until migration 0004
}


def _users_insert(conn: psycopg.Connection) -> str:
    rows = conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'users'"
    ).fetchall()
    present = {
        name: value for name, value in _SCHEMA_DEPENDENT_USER_COLUMNS.items() if (name,) in rows
    }
    return _USERS.format(
        columns="".join(f", {name}" for name in present),
        values="".join(f",\n       {value}" for value in present.values()),
    )


# Four words per title, picked by multiplicative hashing modulo a prime (deterministic, spread
# evenly); the first capitalised so that search has to ignore case. Every RARE_EVERY-th post
# ends with the rare word instead, and every SCARCE_EVERY-th from SCARCE_FIRST with the scarce one.
_POSTS = """
INSERT INTO posts (id, owner_id, title, content, published, created_at, updated_at)
SELECT i,
       (i::bigint * 7919) %% %(users)s + 1,
       initcap(v[(i::bigint * 104729 + 17) %% 1000003 %% 200 + 1]) || ' '
         || v[(i::bigint * 224737 + 29) %% 1000003 %% 200 + 1] || ' '
         || v[(i::bigint * 350377 + 41) %% 1000003 %% 200 + 1] || ' '
         || CASE WHEN i %% %(rare_every)s = 1 THEN %(rare)s
                 WHEN i %% %(scarce_every)s = %(scarce_first)s THEN %(scarce)s
                 ELSE v[(i::bigint * 479909 + 53) %% 1000003 %% 200 + 1] END,
       'Post number ' || i || ' of the benchmark dataset, about '
         || v[(i::bigint * 611953 + 67) %% 1000003 %% 200 + 1] || ' and '
         || v[(i::bigint * 746773 + 79) %% 1000003 %% 200 + 1]
         || '. It is long enough to look like a real post, and short enough to stay cheap.',
       i %% 10 <> 0,
       now() - (%(posts)s - i) * interval '1 second',
       NULL
FROM generate_series(1, %(posts)s) AS i, (SELECT %(vocabulary)s::text[] AS v) AS vocabulary
"""

# VOTES_PER_POST distinct voters per post (drafts included: votes on drafts cost the same
# to count, and the list query counts votes for every post it returns). Generated in post
# order, the order of the primary key (post_id, user_id).
_VOTES = """
INSERT INTO votes (post_id, user_id, created_at)
SELECT j / %(per_post)s + 1,
       ((j / %(per_post)s + 1) * 7 + (j %% %(per_post)s) * 1931) %% %(users)s + 1,
       now()
FROM generate_series(0, %(votes)s - 1) AS j
"""


# COMMENTS_PER_POST comments per post (drafts included, like votes: each post's count costs
# the same), a few milliseconds after their post, in the order of the index that the list and
# the count read. Their authors are spread over the users like the voters.
_COMMENTS = """
INSERT INTO comments (post_id, author_id, body, created_at)
SELECT j / %(comments_per_post)s + 1,
       ((j / %(comments_per_post)s + 1) * 13
         + (j %% %(comments_per_post)s) * 2909) %% %(users)s + 1,
       'Comment ' || j || ' of the benchmark dataset: short, as most comments are.',
       now() - (%(posts)s - (j / %(comments_per_post)s + 1)) * interval '1 second'
         + (j %% %(comments_per_post)s + 1) * interval '10 milliseconds'
FROM generate_series(0, %(comments)s - 1) AS j
"""


def password_hash() -> bytes:
    """A bcrypt hash of PASSWORD, with the app's algorithm and production cost (12)."""
    return bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(BCRYPT_COST))


def _voter_offsets_distinct(users: int) -> bool:
    """The VOTES_PER_POST voters of a post, user = (p*7 + k*1931) % users + 1, are distinct."""
    return len({k * 1931 % users for k in range(VOTES_PER_POST)}) == VOTES_PER_POST


def seed(url: str, dataset: Dataset, log: Log) -> None:
    """Fill the freshly migrated database, in one transaction, then vacuum and analyze it."""
    assert _voter_offsets_distinct(dataset.users), "choose another user count"
    # One real bcrypt hash shared by every user: logins cost what they cost in production,
    # without hashing 10,000 passwords here.
    hashed = password_hash().decode()
    params = {
        "domain": EMAIL_DOMAIN,
        "hash": hashed,
        "users": dataset.users,
        "posts": dataset.posts,
        "votes": dataset.votes,
        "per_post": VOTES_PER_POST,
        "comments": dataset.comments,
        "comments_per_post": COMMENTS_PER_POST,
        "vocabulary": VOCABULARY,
        "rare": RARE_WORD,
        "rare_every": RARE_EVERY,
        "scarce": SCARCE_WORD,
        "scarce_every": SCARCE_EVERY,
        "scarce_first": SCARCE_FIRST,
    }
    with psycopg.connect(url) as conn:  # autocommit off: everything below is one transaction
        warn_about_triggers(conn, log)
        # Skip the foreign-key triggers (and any other ordinary trigger) while loading: this
        # is a local benchmark database we own, and the ids are valid by construction (owners
        # and voters in 1..users, posts in 1..posts). Needs a superuser, like the rest here.
        conn.execute("SET LOCAL session_replication_role = replica")
        conn.execute("SET LOCAL maintenance_work_mem = '512MB'")  # faster index builds
        indexes = conn.execute(_SECONDARY_INDEXES).fetchall()
        for name, _ in indexes:
            conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
        users = _users_insert(conn)
        loads = [("users", users), ("posts", _POSTS), ("votes", _VOTES)]
        if has_comments(conn):
            loads.append(("comments", _COMMENTS))
        for table, statement in loads:
            started = time.monotonic()
            conn.execute(statement, params)
            log(f"  {table}: {time.monotonic() - started:.1f}s")
        started = time.monotonic()
        for _, definition in indexes:
            conn.execute(definition)
        log(f"  {len(indexes)} secondary indexes: {time.monotonic() - started:.1f}s")
        conn.execute("SET LOCAL session_replication_role = origin")
        # The app inserts without ids: its sequences must start past the explicit ones.
        # (Comments were inserted without ids: their sequence is right already.)
        for table in ("users", "posts"):
            conn.execute(
                sql.SQL(
                    "SELECT setval(pg_get_serial_sequence({}, 'id'), (SELECT max(id) FROM {}))"
                ).format(sql.Literal(table), sql.Identifier(table))
            )
        conn.execute(
            sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                sql.Identifier(dataset.name), sql.Literal(dataset.marker)
            )
        )
    started = time.monotonic()
    with psycopg.connect(url, autocommit=True) as conn:
        # VACUUM, not only ANALYZE: it sets hint bits and the visibility map now, instead of
        # autovacuum doing it (and the first readers writing hint bits) during a scenario.
        tables = "users, posts, votes" + (", comments" if has_comments(conn) else "")
        conn.execute(f"VACUUM (ANALYZE) {tables}")
        with contextlib.suppress(psycopg.errors.InsufficientPrivilege):
            conn.execute("CHECKPOINT")  # flush the load now rather than mid-measurement
    log(f"  vacuum, analyze, checkpoint: {time.monotonic() - started:.1f}s")


def warn_about_triggers(conn: psycopg.Connection, log: Log) -> None:
    """Seeding disables triggers: say so if the schema has some (e.g. vote counters)."""
    rows = conn.execute(
        "SELECT tgrelid::regclass::text, tgname FROM pg_trigger "
        "WHERE NOT tgisinternal "
        "AND tgrelid::regclass::text IN ('users', 'posts', 'votes', 'comments')"
    ).fetchall()
    for table, name in rows:
        log(
            f"  WARNING: trigger {name} on {table} does not fire during the seed "
            "(session_replication_role = replica): bench/seed.py must fill what it maintains"
        )
