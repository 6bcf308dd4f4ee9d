"""Database outages, against the real server and a throwaway PostgreSQL cluster.

The cluster (tests/pg_cluster.py) is this module's own: initdb in a temporary folder, a free
port on 127.0.0.1, never the shared server. The app runs as a real uvicorn process with small
pool and timeout settings, and the tests talk to it over HTTP while they stop, restart and crash
the database, lock its tables and kill its backends:

- database stopped: /health stays 200, every database endpoint answers 503 JSON with
  Retry-After within a bounded time; database back: requests succeed again, no app restart;
- the app starts while the database is down, and recovers once it is up;
- a locked table: the blocked queries end at the statement timeout (503), the requests queued
  behind them on the pool get 503 at the pool timeout, /health does not notice;
- a connection killed in the middle of POST /posts/batch (mid-INSERT or at COMMIT): 503, and
  not one of the batch's posts exists;
- steady mixed load across a fast and an immediate (crash) restart: no 5xx other than 503, and
  every post confirmed with 201 exists afterwards.

The measured timings go to test-artifacts/outage-timings.json (docs/operations.md, "When the
database is down", has the figures). They run once, in the PostgreSQL run of the suite (the
cluster is their own either way). Without PostgreSQL binaries they are skipped, except in CI,
where they fail.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from app.core.config import Settings
from tests.contract import OPERATIONS, request_for
from tests.live_server import free_port, spawn, stop
from tests.pg_cluster import PgCluster, ShutdownMode, missing_binaries

pytestmark = pytest.mark.postgres_only

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TIMINGS_FILE = PROJECT_ROOT / "test-artifacts" / "outage-timings.json"
DATABASE = "posts"
PASSWORD = "outage-password"

# Small values so that every outage resolves in seconds.
TEST_DB_SETTINGS = {
    "DB_POOL_SIZE": "3",
    "DB_MAX_OVERFLOW": "0",
    "DB_POOL_TIMEOUT": "1",
    "DB_CONNECT_TIMEOUT": "2",
    "DB_STATEMENT_TIMEOUT_MS": "1500",
}
DEFAULT_DB_SETTINGS = {name: str(Settings.model_fields[name].default) for name in TEST_DB_SETTINGS}
# Generous: what the settings allow (pool wait, then a new connection, then the statements of
# a request), plus room for a busy 2-core machine. No request may take longer, outage or not.
TEST_BOUND_S = 10.0
SLACK_S = 2.0
DOWN_FOR_S = 3.0  # how long the "database stopped" tests keep it down
RECOVERY_BOUND_S = 2.0  # once it is back, requests succeed within this (measured: ~0.02 s)
STARTUP_TIMEOUT_S = 30.0  # the app's start-up, or the database's crash recovery


def _ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in {"", "0", "false", "no"}


# -- the cluster -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def cluster() -> Iterator[PgCluster]:
    """The throwaway cluster, started once, with a migrated `posts` database."""
    if problem := missing_binaries():
        if _ci():
            pytest.fail(f"{problem}; CI is set, so the outage tests may not be skipped")
        pytest.skip(problem)
    cluster = PgCluster.create()
    try:
        cluster.start()
        cluster.create_database(DATABASE)
        migrate = subprocess.run(
            [sys.executable, "-m", "app.migrate"],
            cwd=PROJECT_ROOT,
            env={**os.environ, "DATABASE_URL": cluster.url(DATABASE), "ENVIRONMENT": "test"},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert migrate.returncode == 0, migrate.stdout + migrate.stderr
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture(autouse=True)
def _cluster_running(cluster: PgCluster) -> None:
    """Every test starts with the database up, whatever the previous one left behind."""
    if not cluster.is_running():
        cluster.start()


@pytest.fixture(scope="session")
def timings() -> Iterator[dict[str, Any]]:
    """Measured outage timings (seconds), written to test-artifacts/ at the end."""
    recorded: dict[str, Any] = {}
    yield recorded
    if recorded:
        TIMINGS_FILE.parent.mkdir(exist_ok=True)
        TIMINGS_FILE.write_text(json.dumps(recorded, indent=2, sort_keys=True) + "\n")


# -- the app -----------------------------------------------------------------------------------


@dataclass
class AppServer:
    """The app in its own uvicorn process on a free port."""

    process: subprocess.Popen[bytes]
    base_url: str
    log_file: Path

    @classmethod
    def start(cls, cluster: PgCluster, log_dir: Path, db_settings: dict[str, str]) -> AppServer:
        port = free_port()
        env = {
            **{key: value for key, value in os.environ.items() if not key.startswith("DB_")},
            "DATABASE_URL": cluster.url(DATABASE),
            "ENVIRONMENT": "test",
            "SECRET_KEY": "outage-test-secret-key-0123456789abcdef",
            "BCRYPT_ROUNDS": "4",
            "RATE_LIMIT_ENABLED": "false",
            "LOG_LEVEL": "WARNING",
            **db_settings,
        }
        log_file = log_dir / f"app-{port}.log"
        uvicorn = ["-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", str(port)]
        process = spawn([*uvicorn, "--no-access-log"], env, log_file)
        return cls(process, f"http://127.0.0.1:{port}", log_file)

    async def wait_until_up(self) -> float:
        """Seconds until /health answers (it never touches the database)."""
        started = time.monotonic()
        async with httpx.AsyncClient(base_url=self.base_url, timeout=1.0) as client:
            while time.monotonic() - started < STARTUP_TIMEOUT_S:
                if self.process.poll() is not None:
                    pytest.fail(f"the app exited with {self.process.returncode}:\n{self.log()}")
                try:
                    if (await client.get("/health")).status_code == 200:
                        return time.monotonic() - started
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.05)
        pytest.fail(f"no answer on /health within {STARTUP_TIMEOUT_S} s:\n{self.log()}")

    def log(self) -> str:
        return self.log_file.read_text(errors="replace")

    def unexpected_errors(self) -> list[str]:
        """Log lines of errors that became (or would have become) a 500."""
        return [
            line
            for line in self.log().splitlines()
            if "unhandled error" in line or "Traceback" in line
        ]

    def stop(self) -> None:
        stop(self.process)


@pytest.fixture
async def start_app(cluster: PgCluster, tmp_path: Path) -> AsyncIterator[StartApp]:
    """Start app processes for one test; all of them are stopped at its end."""
    servers: list[AppServer] = []

    async def start(db_settings: dict[str, str]) -> AppServer:
        server = AppServer.start(cluster, tmp_path, db_settings)
        servers.append(server)
        await server.wait_until_up()
        return server

    try:
        yield start
    finally:
        for server in servers:
            server.stop()


StartApp = Callable[[dict[str, str]], Awaitable[AppServer]]


@pytest.fixture(scope="module")
async def app_server(
    cluster: PgCluster, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[AppServer]:
    """One app process with the test settings, shared by the tests that need no fresh one."""
    server = AppServer.start(cluster, tmp_path_factory.mktemp("outage-app"), TEST_DB_SETTINGS)
    try:
        await server.wait_until_up()
        yield server
    finally:
        server.stop()


@pytest.fixture
async def http(app_server: AppServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=app_server.base_url, timeout=60) as client:
        yield client


# -- helpers -----------------------------------------------------------------------------------

POST = {"title": "during an outage", "content": "written while the database was away"}


async def new_account(client: httpx.AsyncClient) -> dict[str, str]:
    """Register and log in a new user; their Authorization header."""
    email = f"outage-{uuid.uuid4().hex[:12]}@example.com"
    created = await client.post("/users", json={"email": email, "password": PASSWORD})
    assert created.status_code == 201, created.text
    login = await client.post("/login", data={"username": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


async def timed(
    client: httpx.AsyncClient, method: str, url: str, **kwargs: Any
) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = await client.request(method, url, **kwargs)
    return response, time.monotonic() - started


def assert_unavailable(response: httpx.Response) -> None:
    """503 `{"detail": str}` with Retry-After: what a client sees while the database is away."""
    assert response.status_code == 503, (
        f"{response.request.url}: {response.status_code} {response.text}"
    )
    body = response.json()
    assert set(body) == {"detail"} and isinstance(body["detail"], str), body
    assert int(response.headers["retry-after"]) > 0


async def database_requests(
    client: httpx.AsyncClient, headers: dict[str, str], post_id: int
) -> dict[str, dict[str, Any]]:
    """One request for every operation that needs the database (tests/contract.py), by
    "METHOD /path", with the caller's ids (made while the database is up)."""
    document = (await client.get("/openapi.json")).json()
    comment = await client.post(
        f"/posts/{post_id}/comments", json={"body": "before the outage"}, headers=headers
    )
    me = await client.get("/users/me", headers=headers)
    sessions = await client.get("/sessions", headers=headers)
    ids = {
        "post_id": post_id,
        "comment_id": comment.json()["id"],
        "user_id": me.json()["id"],
        "session_id": sessions.json()[0]["id"],
    }
    return {
        operation.key: request_for(operation, document, ids, headers=headers)
        for operation in OPERATIONS
        if operation.database
    }


async def count_posts(cluster: PgCluster, where: str, *params: Any) -> int:
    async with await psycopg.AsyncConnection.connect(cluster.dsn(DATABASE), autocommit=True) as db:
        row = await (
            await db.execute(f"SELECT count(*) FROM posts WHERE {where}", params)
        ).fetchone()
    assert row is not None
    return int(row[0])


async def wait_for_database(cluster: PgCluster) -> float:
    """Seconds until the cluster accepts connections again (after a crash: its recovery)."""
    started = time.monotonic()
    while True:
        try:
            await (await psycopg.AsyncConnection.connect(cluster.dsn(DATABASE))).close()
            return time.monotonic() - started
        except psycopg.OperationalError:
            if time.monotonic() - started > STARTUP_TIMEOUT_S:
                raise
            await asyncio.sleep(0.05)


def rounded(seconds: float) -> float:
    return round(seconds, 3)


# -- database stopped, database back ---------------------------------------------------------


async def unavailable_for(client: httpx.AsyncClient, seconds: float, **request: Any) -> list[float]:
    """Send `request` again and again for `seconds` while the database is away: every answer
    must be a 503 (each within the bound). Their durations."""
    durations: list[float] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        response, elapsed = await timed(client, **request)
        assert_unavailable(response)
        assert elapsed < outage_bound(TEST_DB_SETTINGS)
        durations.append(elapsed)
        await asyncio.sleep(0.1)
    return durations


async def until_ok(client: httpx.AsyncClient, **request: Any) -> tuple[float, int]:
    """Once the database is back: seconds until `request` succeeds (without an app restart),
    and how many 503s came before that. Fails past RECOVERY_BOUND_S."""
    started = time.monotonic()
    failures = 0
    while True:
        response = await client.request(**request)
        if response.is_success:
            return time.monotonic() - started, failures
        assert_unavailable(response)
        failures += 1
        assert time.monotonic() - started < RECOVERY_BOUND_S, (
            f"{request['method']} {request['url']} still 503 {RECOVERY_BOUND_S} s after the "
            "database came back"
        )
        await asyncio.sleep(0.05)


def outage_bound(db_settings: dict[str, str]) -> float:
    """How long a request may take while the database is away: the wait for a pooled
    connection, one connection attempt, and room for a busy machine."""
    pool_wait = float(db_settings["DB_POOL_TIMEOUT"])
    return pool_wait + float(db_settings["DB_CONNECT_TIMEOUT"]) + SLACK_S


@pytest.mark.parametrize(
    "db_settings", [TEST_DB_SETTINGS, DEFAULT_DB_SETTINGS], ids=["test-settings", "defaults"]
)
async def test_database_stopped_then_back(
    cluster: PgCluster, start_app: StartApp, timings: dict[str, Any], db_settings: dict[str, str]
) -> None:
    """With the test settings every endpoint is tried, and the database stays down a while;
    with the defaults (slower to give up) only the two docs/operations.md quotes."""
    defaults = db_settings is DEFAULT_DB_SETTINGS
    server = await start_app(db_settings)
    async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as client:
        headers = await new_account(client)
        created = await client.post("/posts", headers=headers, json=POST)
        assert created.status_code == 201, created.text
        post_id = created.json()["id"]
        # Every pooled connection used once: the outage finds them all broken.
        await asyncio.gather(*(client.get("/posts", headers=headers) for _ in range(10)))

        requests = await database_requests(client, headers, post_id)
        if defaults:
            requests = {name: requests[name] for name in ("GET /health/db", "GET /posts")}
        await asyncio.to_thread(cluster.stop, "fast")
        down: dict[str, float] = {}
        for name, request in requests.items():
            response, down[name] = await timed(client, **request)
            assert_unavailable(response)
        assert max(down.values()) < outage_bound(db_settings), down
        # A while down, as in a real outage: long enough for reconnect backoffs to grow.
        feed = {"method": "GET", "url": "/posts", "headers": headers}
        steady = [] if defaults else await unavailable_for(client, DOWN_FOR_S, **feed)
        health, health_seconds = await timed(client, "GET", "/health")
        assert health.status_code == 200 and health.json() == {"status": "ok"}

        await asyncio.to_thread(cluster.start)  # returns once the server accepts connections
        back_seconds, failures_after_back = await until_ok(client, **feed)
        assert (await client.get("/health/db")).status_code == 200
        assert (await client.get(f"/posts/{post_id}", headers=headers)).status_code == 200
        assert (await client.post("/posts", headers=headers, json=POST)).status_code == 201

    assert server.unexpected_errors() == []
    measured = {
        "settings": db_settings,
        "503 seconds, by endpoint": {name: rounded(seconds) for name, seconds in down.items()},
        "GET /health seconds while down": rounded(health_seconds),
        "GET /posts 200 after pg_ctl start, seconds": rounded(back_seconds),
        "503s after pg_ctl start": failures_after_back,
    }
    if steady:
        measured[f"503 seconds, GET /posts over {DOWN_FOR_S} s down (max)"] = rounded(max(steady))
    timings[f"database stopped ({'defaults' if defaults else 'test settings'})"] = measured


@pytest.mark.parametrize("mode", ["fast", "immediate"])
async def test_a_restart_while_the_app_is_idle_costs_no_request(
    cluster: PgCluster, start_app: StartApp, mode: ShutdownMode
) -> None:
    """Every pooled connection dies in a restart that no request sees: the next requests, a
    write first, then reads, still succeed (the pool replaces a connection the server ended
    when it lends it out)."""
    server = await start_app(TEST_DB_SETTINGS)
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
        headers = await new_account(client)
        created = await client.post("/posts", headers=headers, json=POST)
        assert created.status_code == 201, created.text
        post_id = created.json()["id"]
        # Fill the pool with connections that the restart will break.
        for _ in range(2):
            reads = [client.get("/posts", headers=headers) for _ in range(10)]
            reads += [client.get(f"/posts/{post_id}", headers=headers) for _ in range(10)]
            assert {r.status_code for r in await asyncio.gather(*reads)} == {200}

        await asyncio.to_thread(cluster.restart, mode)

        again = await client.post("/posts", headers=headers, json=POST)
        assert again.status_code == 201, again.text
        feed = await client.get("/posts", headers=headers)
        assert feed.status_code == 200, feed.text
        assert feed.json()[0]["id"] == again.json()["id"]  # the cluster is shared: older follow
        one = await client.get(f"/posts/{post_id}", headers=headers)
        assert one.status_code == 200, one.text
        found = await client.get("/posts?search=outage", headers=headers)
        assert found.status_code == 200, found.text
        assert [post["id"] for post in found.json()[:2]] == [again.json()["id"], post_id]
    assert server.unexpected_errors() == []


async def test_app_starts_while_the_database_is_down(
    cluster: PgCluster, start_app: StartApp, timings: dict[str, Any]
) -> None:
    await asyncio.to_thread(cluster.stop, "fast")
    started = time.monotonic()
    server = await start_app(TEST_DB_SETTINGS)
    startup_seconds = time.monotonic() - started
    async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as client:
        assert (await client.get("/health")).status_code == 200
        account = {"email": f"late-{uuid.uuid4().hex[:8]}@example.com", "password": PASSWORD}
        assert_unavailable(await client.post("/users", json=account))
        health_db = {"method": "GET", "url": "/health/db"}
        steady = await unavailable_for(client, DOWN_FOR_S, **health_db)

        await asyncio.to_thread(cluster.start)
        back_seconds, failures_after_back = await until_ok(client, **health_db)
        headers = await new_account(client)
        feed = {"method": "GET", "url": "/posts", "headers": headers}
        feed_seconds, feed_failures = await until_ok(client, **feed)
        assert (await client.post("/posts", headers=headers, json=POST)).status_code == 201

    assert "database unreachable at start-up" in server.log()
    assert server.unexpected_errors() == []
    timings["app started while the database was down"] = {
        "start-up seconds (until /health answers)": rounded(startup_seconds),
        "503 seconds, GET /health/db (max)": rounded(max(steady)),
        "GET /health/db 200 after pg_ctl start, seconds": rounded(back_seconds),
        "503s after pg_ctl start": failures_after_back,
        "GET /posts 200 after that, seconds": rounded(feed_seconds),
        "GET /posts 503s after that": feed_failures,
    }


async def test_database_not_answering_is_bounded_by_the_connect_timeout(
    cluster: PgCluster, start_app: StartApp, timings: dict[str, Any]
) -> None:
    """A server that accepts TCP connections but never answers (here: its postmaster
    stopped with SIGSTOP; in real life an overloaded or half-failed-over host)."""
    os.kill(cluster.postmaster_pid(), signal.SIGSTOP)
    try:
        started = time.monotonic()
        server = await start_app(TEST_DB_SETTINGS)  # its start-up check waits, then gives up
        startup_seconds = time.monotonic() - started
        async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as client:
            health, health_seconds = await timed(client, "GET", "/health")
            login = {"username": "nobody@example.com", "password": PASSWORD}
            results = await asyncio.gather(
                timed(client, "GET", "/health/db"),
                timed(client, "POST", "/login", data=login),
            )
    finally:
        os.kill(cluster.postmaster_pid(), signal.SIGCONT)
    assert health.status_code == 200
    for response, seconds in results:
        assert_unavailable(response)
        assert seconds < TEST_BOUND_S
    timings["database not answering (postmaster stopped)"] = {
        "settings": TEST_DB_SETTINGS,
        "start-up seconds (until /health answers)": rounded(startup_seconds),
        "503 seconds, GET /health/db": rounded(results[0][1]),
        "503 seconds, POST /login": rounded(results[1][1]),
        "GET /health seconds": rounded(health_seconds),
    }


# -- a locked table: statement timeout, then pool timeout --------------------------------------


async def test_locked_table_ends_at_the_statement_timeout_and_the_pool_timeout(
    cluster: PgCluster, app_server: AppServer, http: httpx.AsyncClient, timings: dict[str, Any]
) -> None:
    """Another client holds posts locked: every read and write of the table waits. More of
    them than the pool holds: the first ones end at the statement timeout, the ones queued
    behind them for a connection at the pool timeout; all 503, none hangs, /health does not
    notice, and /health/db (queued on the same pool as the writes) answers 503 too."""
    headers = await new_account(http)
    assert (await http.get("/posts", headers=headers)).status_code == 200
    tag = f"locked-{uuid.uuid4().hex}"
    many = int(TEST_DB_SETTINGS["DB_POOL_SIZE"]) + 3
    async with await psycopg.AsyncConnection.connect(cluster.dsn(DATABASE)) as locker:
        await locker.execute("LOCK TABLE posts IN ACCESS EXCLUSIVE MODE")
        post = {"title": "behind a lock", "content": tag}
        blocked = [
            *(timed(http, "GET", "/posts", headers=headers) for _ in range(many)),
            *(timed(http, "POST", "/posts", headers=headers, json=post) for _ in range(many)),
        ]
        tasks = [asyncio.create_task(request) for request in blocked]
        await asyncio.sleep(0.3)  # the pools are taken by now, the other requests queue
        health, health_seconds = await timed(http, "GET", "/health")
        health_db, health_db_seconds = await timed(http, "GET", "/health/db")
        results = await asyncio.gather(*tasks)
        await locker.rollback()

    assert health.status_code == 200
    assert_unavailable(health_db)
    for response, seconds in results:
        assert_unavailable(response)
        assert seconds < TEST_BOUND_S
    assert await count_posts(cluster, "content = %s", tag) == 0
    # The blocked statements were cancelled by the server, not left waiting behind the lock.
    assert "canceling statement due to statement timeout" in cluster.log_file.read_text()
    backends = await asyncio.to_thread(cluster.backends, DATABASE)
    assert [backend for backend in backends if backend.wait_event == "relation"] == []
    # Lock gone: the same requests succeed again.
    assert (await http.get("/posts", headers=headers)).status_code == 200
    assert (await http.post("/posts", headers=headers, json=post)).status_code == 201
    assert app_server.unexpected_errors() == []

    reads, writes = results[:many], results[many:]
    timings["table locked by another connection"] = {
        "settings": TEST_DB_SETTINGS,
        "503 seconds, each of the concurrent GET /posts": sorted(rounded(s) for _, s in reads),
        "503 seconds, each of the concurrent POST /posts": sorted(rounded(s) for _, s in writes),
        "503 seconds, GET /health/db queued meanwhile": rounded(health_db_seconds),
        "GET /health seconds meanwhile": rounded(health_seconds),
    }


# -- a connection killed in the middle of POST /posts/batch ------------------------------------

STALL_KEYS = {"mid-insert": 4201, "at-commit": 4202}


@pytest.fixture(scope="module")
def stall_triggers(cluster: PgCluster) -> Iterator[None]:
    """Triggers that make an INSERT of posts wait on an advisory lock the test holds: on the
    row titled `stall mid-insert` (the rows before it already inserted), or at COMMIT (a
    deferred trigger: every row inserted) for `stall at commit`. Other posts pass through."""
    with cluster.connect(DATABASE) as db:
        db.execute(
            """
            CREATE FUNCTION outage_stall() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN PERFORM pg_advisory_xact_lock(TG_ARGV[0]::bigint); RETURN NEW; END $$;
            CREATE TRIGGER outage_stall_mid_insert BEFORE INSERT ON posts FOR EACH ROW
                WHEN (NEW.title = 'stall mid-insert') EXECUTE FUNCTION outage_stall('4201');
            CREATE CONSTRAINT TRIGGER outage_stall_at_commit AFTER INSERT ON posts
                DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
                WHEN (NEW.title = 'stall at-commit') EXECUTE FUNCTION outage_stall('4202');
            """
        )
    try:
        yield
    finally:
        if cluster.is_running():
            with cluster.connect(DATABASE) as db:
                db.execute("DROP FUNCTION outage_stall() CASCADE")


async def stalled_backend(cluster: PgCluster) -> int:
    """The pid of the app's backend waiting on the advisory lock (before the statement
    timeout cancels the wait)."""
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        for backend in await asyncio.to_thread(cluster.backends, DATABASE):
            if backend.wait_event == "advisory":
                return backend.pid
        await asyncio.sleep(0.02)
    pytest.fail("the batch never reached the stalling trigger")


@pytest.mark.parametrize("kill", ["pg_terminate_backend", "SIGKILL"])
@pytest.mark.parametrize("stall", ["mid-insert", "at-commit"])
async def test_connection_killed_mid_batch_leaves_nothing(
    cluster: PgCluster,
    app_server: AppServer,
    http: httpx.AsyncClient,
    stall_triggers: None,
    timings: dict[str, Any],
    stall: str,
    kill: str,
) -> None:
    headers = await new_account(http)
    tag = f"batch-{uuid.uuid4().hex}"
    items = [{"title": f"item {i}", "content": tag} for i in range(5)]
    items[2]["title"] = f"stall {stall}"

    locker = await psycopg.AsyncConnection.connect(cluster.dsn(DATABASE), autocommit=True)
    try:
        await locker.execute("SELECT pg_advisory_lock(%s)", (STALL_KEYS[stall],))
        batch = asyncio.create_task(
            timed(http, "POST", "/posts/batch", headers=headers, json=items)
        )
        pid = await stalled_backend(cluster)
        if kill == "SIGKILL":
            # The server restarts every backend (crash recovery).
            await asyncio.to_thread(cluster.kill_backend, pid)
        else:
            assert await asyncio.to_thread(cluster.terminate_backend, pid)
        response, seconds = await batch
    finally:
        await locker.close()

    assert_unavailable(response)
    recovery_seconds = await wait_for_database(cluster)
    assert await count_posts(cluster, "content = %s", tag) == 0  # nothing of the batch

    # The pool replaced the killed connection: the same batch, without the stall, goes through.
    items[2]["title"] = "item 2"
    retried = await http.post("/posts/batch", headers=headers, json=items)
    assert retried.status_code == 201, retried.text
    assert await count_posts(cluster, "content = %s", tag) == len(items)
    assert app_server.unexpected_errors() == []
    timings[f"batch killed {stall} by {kill}"] = {
        "503 seconds after the request": rounded(seconds),
        "database accepting connections again, seconds": rounded(recovery_seconds),
    }


# -- steady mixed load, with restarts in the middle --------------------------------------------

LOAD_WORKERS = 6
BATCH_SIZE = 3
LOAD_PHASE_S = 3.0  # load, restart, load, crash-restart, load
ALLOWED = {200, 201, 409, 503}  # 409: a vote for a post the worker already voted for


@dataclass
class LoadRecord:
    confirmed: list[int] = field(default_factory=list)  # ids of posts answered with 201
    unconfirmed_batches: list[str] = field(default_factory=list)  # tags of batches not 201
    statuses: Counter[int] = field(default_factory=Counter)
    unexpected: list[str] = field(default_factory=list)
    slowest: float = 0.0
    # (sent, answered, status, "METHOD /path")
    events: list[tuple[float, float, int, str]] = field(default_factory=list)

    def after(self, moment: float, *statuses: int) -> list[tuple[float, float, int, str]]:
        """The requests answered after `moment` with one of `statuses`."""
        return [event for event in self.events if event[1] > moment and event[2] in statuses]


def load_request(operation: int, headers: dict[str, str], tag: str, post_id: int) -> dict[str, Any]:
    if operation == 0:
        return {"method": "POST", "url": "/posts", "json": {"title": "load", "content": tag}}
    if operation == 1:
        items = [{"title": f"load {i}", "content": tag} for i in range(BATCH_SIZE)]
        return {"method": "POST", "url": "/posts/batch", "json": items}
    if operation == 2:
        return {"method": "GET", "url": "/posts", "params": {"limit": 20}}
    return {"method": "POST", "url": "/vote", "json": {"post_id": post_id, "dir": 1}}


async def load_worker(
    client: httpx.AsyncClient, headers: dict[str, str], record: LoadRecord, stop: asyncio.Event
) -> None:
    """Create posts (one, or a batch), read the feed, vote, in turn, until `stop`."""
    rng = random.Random()
    for n in itertools.count():
        if stop.is_set():
            return
        operation = n % 4
        tag = f"load-{uuid.uuid4().hex}"
        post_id = rng.choice(record.confirmed) if record.confirmed else 1
        request = load_request(operation, headers, tag, post_id)
        sent = time.monotonic()
        try:
            response = await client.request(headers=headers, **request)
        except httpx.TransportError as error:  # the app itself must never drop a request
            record.unexpected.append(f"{request['method']} {request['url']}: {error!r}")
            continue
        answered = time.monotonic()
        record.statuses[response.status_code] += 1
        record.events.append(
            (sent, answered, response.status_code, f"{request['method']} {request['url']}")
        )
        record.slowest = max(record.slowest, answered - sent)
        if response.status_code not in ALLOWED:
            record.unexpected.append(
                f"{request['method']} {request['url']}: {response.status_code} {response.text}"
            )
        elif response.status_code == 503:
            assert_unavailable(response)
        if operation in (0, 1) and response.status_code == 201:
            body = response.json()
            record.confirmed.extend(post["id"] for post in (body if operation == 1 else [body]))
        elif operation == 1:
            record.unconfirmed_batches.append(tag)
        await asyncio.sleep(0.005)


async def test_steady_load_across_restarts_loses_no_confirmed_post(
    cluster: PgCluster, app_server: AppServer, http: httpx.AsyncClient, timings: dict[str, Any]
) -> None:
    accounts = [await new_account(http) for _ in range(LOAD_WORKERS)]
    record = LoadRecord()
    stop = asyncio.Event()
    restarts: list[tuple[str, float, float]] = []  # (mode, began, returned)

    async def disrupt() -> None:
        for mode in ("fast", "immediate"):  # immediate: a crash, recovery from the WAL
            await asyncio.sleep(LOAD_PHASE_S)
            began = time.monotonic()
            await asyncio.to_thread(cluster.restart, mode)
            restarts.append((mode, began, time.monotonic()))
        await asyncio.sleep(LOAD_PHASE_S)
        stop.set()

    started = time.monotonic()
    await asyncio.gather(
        disrupt(), *(load_worker(http, headers, record, stop) for headers in accounts)
    )
    duration = time.monotonic() - started

    assert record.unexpected == []  # nothing but 200, 201, 409 and 503; no dropped request
    assert record.slowest < TEST_BOUND_S
    # Every post a client saw confirmed is there, read straight from the database.
    ids = sorted(set(record.confirmed))
    assert await count_posts(cluster, "id = ANY(%s)", ids) == len(ids)
    # A batch that was not confirmed is all there or not at all, never in part.
    for tag in record.unconfirmed_batches:
        assert await count_posts(cluster, "content = %s", tag) in (0, BATCH_SIZE), tag
    # The restarts were felt, and the load went on after each of them.
    assert record.statuses[503] > 0
    ends = [began for _, began, _ in restarts[1:]] + [time.monotonic()]
    for (mode, _, returned), end in zip(restarts, ends, strict=True):
        assert record.after(returned, 200, 201)
        late = [
            (round(sent - returned, 3), what)
            for sent, answered, status, what in record.events
            if returned + RECOVERY_BOUND_S < sent and answered < end and status == 503
        ]
        assert late == [], f"503s sent over {RECOVERY_BOUND_S} s after the {mode} restart"

    recovery = {}
    for (mode, began, returned), end in zip(restarts, ends, strict=True):
        window = [event for event in record.after(began - 0.5, 503) if event[1] < end]
        last_503 = max((event[1] for event in window), default=returned)
        recovery[f"restart -m {mode}"] = {
            "pg_ctl restart seconds": rounded(returned - began),
            "503 answers around it": len(window),
            "last 503 after pg_ctl returned, seconds": rounded(max(0.0, last_503 - returned)),
        }
    timings["steady load with restarts"] = {
        "settings": TEST_DB_SETTINGS,
        "workers": LOAD_WORKERS,
        "seconds": rounded(duration),
        "statuses": dict(record.statuses),
        "confirmed posts": len(ids),
        "unconfirmed batches": len(record.unconfirmed_batches),
        "slowest request seconds": rounded(record.slowest),
        **recovery,
    }


def test_restarts_under_load_log_no_unhandled_error(app_server: AppServer) -> None:
    """Runs after the load test, on the same app process."""
    assert app_server.unexpected_errors() == []
