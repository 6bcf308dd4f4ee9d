"""Start-up, as a teammate meets it: every mistake in the settings, the database or the
migrations ends in a few lines that name the problem and the fix, never a traceback; the
development server migrates only a new, empty database; the server's settings come from `.env`
too; in production every line the server writes is JSON.

Subprocesses, as the commands really run (`python -m app.serve`, `python -m app.migrate`, the
app's lifespan as `fastapi dev` runs it), each in a clean environment without the suite's
settings."""

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from alembic import command
from alembic.script import ScriptDirectory
from httpx import AsyncClient
from pydantic import ValidationError
from sqlalchemy import create_engine, text

from app.core.config import Settings, to_async_url
from app.core.logging import TEXT_FORMAT, RequestIdFilter
from app.db.migrations import (
    PROJECT_ROOT,
    SCHEMA_HEAD,
    alembic_config,
    can_heal,
    connection_problem,
    how_to_fix,
)
from tests.conftest import TEST_DB
from tests.live_server import free_port, running

GOOD_KEY = "k" * 32
# Enough lines for a few problems and their fix; a traceback is dozens.
FEW_LINES = 8


def _clean_env(**settings: str) -> dict[str, str]:
    base = {key: os.environ[key] for key in ("PATH", "HOME") if key in os.environ}
    return {**base, "PYTHONPATH": str(PROJECT_ROOT), **settings}


def _run(
    args: list[str], cwd: Path = PROJECT_ROOT, **settings: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=_clean_env(**settings),
        capture_output=True,
        text=True,
        timeout=60,
    )


def _assert_short_and_clean(output: str) -> None:
    assert "Traceback" not in output, output
    assert len(output.strip().splitlines()) <= FEW_LINES, output


# --- settings ----------------------------------------------------------------------------


def test_bad_settings_are_named_in_a_few_lines_by_serve_and_migrate() -> None:
    bad = {
        "BCRYPT_ROUNDS": "abc",
        "PORT": "abc",
        "LOG_LEVEL": "loud",
        "DATABASE_URL": "mysql://u:secret-password@db/app",
        "SECRET_KEY": " " * 32,
    }
    for module in ("app.serve", "app.migrate"):
        result = _run(["-m", module], **bad)
        assert result.returncode == 1
        assert result.stdout == ""
        error = result.stderr
        _assert_short_and_clean(error)
        assert error.startswith("Invalid settings (from the environment or .env):")
        assert "BCRYPT_ROUNDS='abc': Input should be a valid integer" in error
        assert "PORT='abc': Input should be a valid integer" in error
        assert "LOG_LEVEL='LOUD': Input should be 'DEBUG', 'INFO', 'WARNING' or 'ERROR'" in error
        assert "DATABASE_URL: only PostgreSQL and SQLite are supported, not 'mysql'" in error
        assert "SECRET_KEY: is blank" in error
        assert "secret-password" not in error  # a URL's password is never echoed
        assert "Fix them in the environment or in .env" in error


def test_fastapi_dev_with_bad_settings_says_so_and_exits(tmp_path: Path) -> None:
    """`fastapi dev` runs the app in a child of uvicorn's reloader: the child's refusal used to
    leave the reloader running, port bound, waiting for a code change. Now the whole command
    ends, non-zero, with the few-line message, and the port is free again."""
    port = free_port()
    env = _clean_env(BCRYPT_ROUNDS="abc", DATABASE_URL=f"sqlite:///{tmp_path}/dev.db")
    command = [sys.executable, "-m", "fastapi", "dev", "--port", str(port)]
    process = subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # so that a hang can be ended with its reloader's child
    )
    try:
        stdout, stderr = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        pytest.fail(f"`fastapi dev` was still running after 30 s:\n{stdout}{stderr}")
    assert process.returncode != 0, stdout + stderr
    assert "Traceback" not in stdout + stderr
    assert "Invalid settings (from the environment or .env):" in stderr
    assert "BCRYPT_ROUNDS='abc': Input should be a valid integer" in stderr
    _assert_port_is_freed(port)


def _assert_port_is_freed(port: int, within: float = 5) -> None:
    deadline = time.monotonic() + within
    while True:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
        time.sleep(0.1)


def test_log_level_takes_any_case_and_urls_only_postgresql_or_sqlite() -> None:
    assert Settings(LOG_LEVEL="debug", _env_file=None).LOG_LEVEL == "DEBUG"
    assert Settings(LOG_LEVEL=" Warning ", _env_file=None).LOG_LEVEL == "WARNING"
    for url in ("mysql://u@h/db", "oracle://u@h/db", "mssql+pyodbc://u@h/db"):
        with pytest.raises(ValidationError, match="only PostgreSQL and SQLite are supported"):
            Settings(DATABASE_URL=url, _env_file=None)


def test_a_blank_secret_key_is_refused_everywhere() -> None:
    for environment in ("development", "production"):
        with pytest.raises(ValidationError, match="SECRET_KEY"):
            Settings(ENVIRONMENT=environment, SECRET_KEY=" " * 40, _env_file=None)
    # Padding does not make a short key long enough.
    padded = Settings(
        ENVIRONMENT="production",
        SECRET_KEY="k" * 20 + " " * 20,
        DATABASE_URL="postgresql://u@h/db",
        EMAIL_BACKEND="console",
        _env_file=None,
    )
    assert padded.production_problems() == ["SECRET_KEY is shorter than 32 bytes"]


def test_production_without_database_url_refuses_to_serve_and_to_migrate(tmp_path: Path) -> None:
    production = {"ENVIRONMENT": "production", "SECRET_KEY": GOOD_KEY, "EMAIL_BACKEND": "console"}
    for module in ("app.serve", "app.migrate"):
        result = _run(["-m", module], cwd=tmp_path, **production)
        assert result.returncode == 1, result
        _assert_short_and_clean(result.stderr)
        assert "Refusing to start with ENVIRONMENT=production" in result.stderr
        assert "DATABASE_URL is not set" in result.stderr
    assert list(tmp_path.iterdir()) == []  # no ./app.db was created


def test_migrate_needs_no_secret_key_in_production(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/prod.db"
    result = _run(["-m", "app.migrate"], ENVIRONMENT="production", DATABASE_URL=url)
    assert result.returncode == 0, result.stderr
    assert f"database is at the latest revision ({SCHEMA_HEAD})" in result.stdout


# --- the migrate step: what heals is retried, what cannot is said at once -----------------


@pytest.mark.postgres_only
@pytest.mark.parametrize(
    ("what", "problem", "fix"),
    [
        ("database", 'database "no_such_database" does not exist', "create it"),
        ("role", 'role "no_such_role" does not exist', "create it"),
    ],
)
def test_migrate_reports_errors_that_cannot_heal_at_once(what: str, problem: str, fix: str) -> None:
    assert TEST_DB.server_url is not None
    server = httpx.URL(TEST_DB.server_url.replace("postgresql+psycopg", "postgresql"))
    url = (
        str(server.copy_with(path="/no_such_database"))
        if what == "database"
        else str(server.copy_with(username="no_such_role"))
    )
    # A minute of patience would be spent on retries if they were made: none are.
    result = _run(["-m", "app.migrate"], DATABASE_URL=url, MIGRATE_WAIT_SECONDS="60")
    assert result.returncode == 1
    assert "waiting for the database" not in result.stdout
    _assert_short_and_clean(result.stderr)
    assert f"cannot connect to the database: FATAL: {problem}" in result.stderr
    assert fix in result.stderr


def test_migrate_names_a_revision_missing_from_the_code(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/ahead.db"
    assert _run(["-m", "app.migrate"], DATABASE_URL=url).returncode == 0
    with create_engine(url).begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0895b59e9db8'"))
    result = _run(["-m", "app.migrate"], DATABASE_URL=url)
    assert result.returncode == 1
    _assert_short_and_clean(result.stderr)
    assert "Can't locate revision identified by '0895b59e9db8'" in result.stderr
    assert "Undo a revision" in result.stderr


def test_which_connection_errors_are_worth_waiting_for() -> None:
    """The driver's words, as psycopg and the socket layer give them."""
    prefix = 'connection failed: connection to server at "10.0.0.5", port 5432 failed: '
    heals = [
        prefix + "Connection refused\n\tIs the server running on that host?",
        prefix + "timeout expired",
        prefix + "FATAL:  the database system is starting up",
        "failed to resolve host 'db': [Errno -3] Temporary failure in name resolution",
    ]
    never = {
        prefix + 'FATAL:  database "posts" does not exist': "create it",
        prefix + 'FATAL:  role "app" does not exist': "create it",
        prefix + 'FATAL:  password authentication failed for user "app"': "password",
    }
    for message in heals:
        assert can_heal(OSError(message)), message
    for message, fix in never.items():
        error = OSError(message)
        assert not can_heal(error), message
        assert fix in how_to_fix(error)
        assert connection_problem(error).startswith("FATAL: ")


# --- the development server's database -----------------------------------------------------

LIFESPAN = (
    "import asyncio\n"
    "from app.main import app, lifespan\n"
    "async def start_and_stop():\n"
    "    async with lifespan(app):\n"
    "        pass\n"
    "asyncio.run(start_and_stop())\n"
)


# The same start-up, then one question to /health/db, whose answer is printed on its own line.
LIFESPAN_THEN_HEALTH_DB = (
    "import asyncio, httpx\n"
    "from app.main import app, lifespan\n"
    "async def start_ask_and_stop():\n"
    "    async with lifespan(app):\n"
    "        transport = httpx.ASGITransport(app=app)\n"
    "        async with httpx.AsyncClient(transport=transport, base_url='http://dev') as client:\n"
    "            response = await client.get('/health/db')\n"
    "    print('/health/db:', response.status_code, response.json()['detail'])\n"
    "asyncio.run(start_ask_and_stop())\n"
)


def _revision(url: str) -> str | None:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        engine.dispose()


def _dev_start(url: str) -> str:
    """The app's start-up as `fastapi dev` runs it; its log."""
    result = _run(["-c", LIFESPAN], ENVIRONMENT="development", DATABASE_URL=url)
    assert result.returncode == 0, result.stderr
    _assert_short_and_clean(result.stdout + result.stderr)
    return result.stdout + result.stderr


def _dev_start_and_health_db(url: str) -> tuple[str, str]:
    """The dev server's start-up log, and what /health/db then answers (503 and its detail)."""
    result = _run(["-c", LIFESPAN_THEN_HEALTH_DB], ENVIRONMENT="development", DATABASE_URL=url)
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    (answer,) = [line for line in output.splitlines() if line.startswith("/health/db: ")]
    status, _, detail = answer.removeprefix("/health/db: ").partition(" ")
    assert status == "503", answer
    return output.replace(answer, ""), detail


def test_the_dev_server_and_health_db_give_one_advice(tmp_path: Path) -> None:
    """The start-up log and /health/db say the same thing, and it is the developer's command
    (not the deploy's migrate step); for a revision whose file is gone, the way out of that."""
    behind = f"sqlite:///{tmp_path}/behind.db"
    command.upgrade(alembic_config(to_async_url(behind)), _previous_revision())
    log, detail = _dev_start_and_health_db(behind)
    assert detail in log
    assert f"the code needs {SCHEMA_HEAD}" in detail
    assert "`uv run alembic upgrade head`" in detail and "app.migrate" not in detail

    with create_engine(behind).begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0895b59e9db8'"))
    log, detail = _dev_start_and_health_db(behind)
    assert detail in log
    assert "revision 0895b59e9db8, which is not in migrations/versions" in detail
    assert "put the file back" in detail and "upgrade head" not in detail


def test_the_dev_server_migrates_a_new_database_and_nothing_else(tmp_path: Path) -> None:
    fresh = f"sqlite:///{tmp_path}/fresh.db"
    assert "new database: migrated to the latest revision" in _dev_start(fresh)
    assert _revision(fresh) == SCHEMA_HEAD

    # A database with a schema, behind the code (a teammate's new revision, or one just
    # generated and not yet read): told what to run, and left alone.
    behind = f"sqlite:///{tmp_path}/behind.db"
    command.upgrade(alembic_config(to_async_url(behind)), _previous_revision())
    log = _dev_start(behind)
    assert f"the code needs {SCHEMA_HEAD}" in log
    assert "uv run alembic upgrade head" in log
    assert _revision(behind) == _previous_revision()

    # At a revision whose file was deleted after it was applied: the way out is named.
    with create_engine(behind).begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0895b59e9db8'"))
    log = _dev_start(behind)
    assert "revision 0895b59e9db8, which is not in migrations/versions" in log
    assert "Undo a revision" in log


def _previous_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_revision(SCHEMA_HEAD)
    assert head is not None and isinstance(head.down_revision, str)
    return head.down_revision


def test_the_dev_server_names_a_database_that_is_down() -> None:
    log = _dev_start(f"postgresql://postgres@127.0.0.1:{free_port()}/posts")
    assert "the database cannot be reached:" in log and "Connection refused; start it" in log


# --- the server's settings from .env, and its log lines -------------------------------------


def test_serve_reads_port_from_env_file_and_logs_only_json_in_production(tmp_path: Path) -> None:
    """`.env` in the working directory, as `.env.example` says: PORT and WEB_CONCURRENCY are
    used; every line the server writes (uvicorn's own start-up and shutdown lines included) is
    one JSON object."""
    port = free_port()
    database = f"sqlite:///{tmp_path}/prod.db"
    assert _run(["-m", "app.migrate"], DATABASE_URL=database).returncode == 0
    (tmp_path / ".env").write_text(
        "\n".join(
            [
                "ENVIRONMENT=production",
                f"SECRET_KEY={GOOD_KEY}",
                "EMAIL_BACKEND=console",
                f"DATABASE_URL={database}",
                f"PORT={port}",
                "WEB_CONCURRENCY=1",
                "FORWARDED_ALLOW_IPS=127.0.0.1",
            ]
        )
    )
    log_path = tmp_path / "server.log"
    env = _clean_env()
    with running(["-m", "app.serve"], env, log_path, port=port, cwd=tmp_path) as base_url:
        assert httpx.get(f"{base_url}/health/db").status_code == 200
    lines = [line for line in log_path.read_text().splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]  # fails on any line that is not JSON
    messages = [entry["message"] for entry in entries]
    assert any(message.startswith("Started server process") for message in messages), messages
    assert any(message.startswith("Uvicorn running on") for message in messages), messages
    assert any(entry["logger"] == "uvicorn.error" for entry in entries)
    (access,) = [e for e in entries if e["logger"] == "app.access" and e["path"] == "/health/db"]
    assert (access["status"], access["client"]) == (200, "127.0.0.1")


async def test_text_access_lines_name_the_client(client: AsyncClient) -> None:
    records: list[logging.LogRecord] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Capture()
    handler.addFilter(RequestIdFilter())
    access = logging.getLogger("app.access")
    access.addHandler(handler)
    try:
        await client.get("/health")
    finally:
        access.removeHandler(handler)
    (record,) = records
    line = logging.Formatter(TEXT_FORMAT).format(record)
    duration = record.duration_ms  # type: ignore[attr-defined]
    assert line.endswith(f"GET /health 200 {duration:.1f}ms from 127.0.0.1")
