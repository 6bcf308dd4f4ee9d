"""What the deploy path relies on: the production guard, the migrate step, the schema check,
the database engine's settings, and docs that need no CDN."""

import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from alembic.script import ScriptDirectory
from httpx import ASGITransport, AsyncClient
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.config import DEV_SECRET_KEY, Settings, settings
from app.db import engine as db
from app.db.migrations import PROJECT_ROOT, SCHEMA_HEAD, alembic_config
from app.main import create_app
from app.web.docs import DOCS_CSP
from tests.conftest import TEST_DB
from tests.live_server import SERVE, free_port, running

GOOD_KEY = "k" * 32


def _run(module: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`python -m <module>` in a clean environment (no .env), as a deploy step runs it."""
    base = {key: os.environ[key] for key in ("PATH", "HOME") if key in os.environ}
    return subprocess.run(
        [sys.executable, "-m", module],
        cwd=PROJECT_ROOT,
        env={**base, "PYTHONPATH": str(PROJECT_ROOT), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


# --- the production guard --------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({}, "SECRET_KEY is not set: set a long random value (openssl rand -base64 48)"),
        ({"SECRET_KEY": DEV_SECRET_KEY}, "SECRET_KEY is the development default"),
        ({"SECRET_KEY": "k" * 31}, "SECRET_KEY is shorter than 32 bytes"),
        (
            {"SECRET_KEY": GOOD_KEY, "CORS_ORIGINS": "*", "CORS_ALLOW_CREDENTIALS": "true"},
            "CORS_ORIGINS is '*' while CORS_ALLOW_CREDENTIALS is true",
        ),
        # E-mail meant to be sent, and nowhere to send it.
        (
            {"SECRET_KEY": GOOD_KEY, "EMAIL_BACKEND": "smtp"},
            "SMTP_HOST is not set, yet EMAIL_BACKEND is smtp",
        ),
        (
            {"SECRET_KEY": GOOD_KEY, "SMTP_USERNAME": "mailer", "SMTP_PASSWORD": "s3cret"},
            "SMTP_HOST is not set, yet SMTP_USERNAME and SMTP_PASSWORD are set",
        ),
    ],
)
def test_production_refuses_unsafe_settings_with_a_clear_message(
    overrides: dict[str, str], problem: str
) -> None:
    result = _run(
        "app.serve",
        ENVIRONMENT="production",
        DATABASE_URL="sqlite:///unused.db",
        WEB_CONCURRENCY="2",
        **overrides,
    )
    assert result.returncode == 1
    assert "Refusing to start with ENVIRONMENT=production" in result.stderr
    assert problem in result.stderr
    assert "Traceback" not in result.stderr
    assert "Uvicorn running" not in result.stderr + result.stdout  # no worker was started
    assert "s3cret" not in result.stderr  # a setting's value is never repeated


def test_production_writes_emails_to_the_log_until_an_smtp_server_is_set() -> None:
    def production(**email: str) -> Settings:
        return Settings(
            ENVIRONMENT="production",
            DATABASE_URL="sqlite:///unused.db",
            SECRET_KEY=GOOD_KEY,
            _env_file=None,
            **email,  # type: ignore[arg-type]
        )

    assert production().email_backend == "console"  # no e-mail settings at all
    assert production().production_problems() == []
    assert production(SMTP_HOST="smtp.example.com").email_backend == "smtp"
    assert production(SMTP_HOST="smtp.example.com").production_problems() == []
    assert production(EMAIL_FROM="Posts <no-reply@posts.example>").email_backend == "smtp"
    assert production(SMTP_HOST="smtp.example.com", EMAIL_BACKEND="console").email_backend == (
        "console"
    )
    # Outside production, the log unless EMAIL_BACKEND says otherwise, as before.
    development = Settings(ENVIRONMENT="development", SMTP_HOST="smtp.example.com", _env_file=None)
    assert development.email_backend == "console"


def test_production_warns_when_reset_links_would_point_at_the_server_itself() -> None:
    """Mails that leave carry PASSWORD_RESET_URL: its default (the API on 127.0.0.1) works on
    that machine only, so production starts with a warning until it is set."""
    smtp = {"SMTP_HOST": "smtp.example.com"}
    sending = Settings(
        ENVIRONMENT="production",
        SECRET_KEY=GOOD_KEY,
        _env_file=None,
        **smtp,  # type: ignore[arg-type]
    )
    (warning,) = sending.production_warnings()
    assert "PASSWORD_RESET_URL is not set" in warning and "127.0.0.1" in warning
    set_up = Settings(
        ENVIRONMENT="production",
        SECRET_KEY=GOOD_KEY,
        PASSWORD_RESET_URL="https://posts.example/reset-password?token={token}",
        _env_file=None,
        **smtp,  # type: ignore[arg-type]
    )
    assert set_up.production_warnings() == []
    assert Settings(ENVIRONMENT="development", _env_file=None).production_warnings() == []


def test_the_documented_docker_run_starts_and_says_that_no_email_leaves(tmp_path: Path) -> None:
    """README, Deploying, and the Dockerfile's header: `docker run -e DATABASE_URL=... -e
    SECRET_KEY=... posts-api`, i.e. the image's ENVIRONMENT=production and those two only."""
    port = free_port()
    base = {key: os.environ[key] for key in ("PATH", "HOME") if key in os.environ}
    env = {
        **base,
        "ENVIRONMENT": "production",
        "DATABASE_URL": TEST_DB.url,  # this run's database, migrated
        "SECRET_KEY": "a-production-secret-key-of-more-than-32-bytes",
    }
    log_path = tmp_path / "server.log"
    with running(["-c", SERVE, str(port)], env, log_path, port=port) as base_url:
        assert httpx.get(f"{base_url}/health/db", timeout=10).status_code == 200
    log = log_path.read_text()
    warnings = [line for line in log.splitlines() if "no e-mail will leave" in line]
    assert len(warnings) == 1, log
    assert '"level": "WARNING"' in warnings[0] and "SMTP_HOST" in warnings[0]


def test_safe_production_settings_pass_and_development_accepts_the_default_key() -> None:
    safe = Settings(
        ENVIRONMENT="production", SECRET_KEY=GOOD_KEY, SMTP_HOST="smtp.example.com", _env_file=None
    )
    assert safe.production_problems() == []
    # E-mails written to the log instead of sent: allowed (a warning at start-up says so).
    console = Settings(
        ENVIRONMENT="production", SECRET_KEY=GOOD_KEY, EMAIL_BACKEND="console", _env_file=None
    )
    assert console.production_problems() == []
    development = Settings(ENVIRONMENT="development", SECRET_KEY=DEV_SECRET_KEY, _env_file=None)
    assert development.production_problems() == []
    # Credentials with explicit origins are fine.
    explicit = Settings(
        ENVIRONMENT="production",
        SECRET_KEY=GOOD_KEY,
        EMAIL_BACKEND="console",
        CORS_ORIGINS="https://app.example.com",
        CORS_ALLOW_CREDENTIALS=True,
        _env_file=None,
    )
    assert explicit.production_problems() == []


def test_log_format_is_json_in_production_and_text_elsewhere() -> None:
    assert Settings(ENVIRONMENT="production", _env_file=None).log_format == "json"
    assert Settings(ENVIRONMENT="development", _env_file=None).log_format == "text"
    assert (
        Settings(ENVIRONMENT="production", LOG_FORMAT="text", _env_file=None).log_format == "text"
    )


# --- the migrate step ------------------------------------------------------------------


def test_migrate_waits_for_the_database_then_gives_up_with_a_clear_message() -> None:
    result = _run(
        "app.migrate",
        DATABASE_URL="postgresql://postgres@127.0.0.1:1/nowhere",
        MIGRATE_WAIT_SECONDS="1",
    )
    assert result.returncode == 1
    assert "waiting for the database" in result.stdout
    assert "database not reachable after 1s" in result.stderr


def test_migrate_brings_a_new_database_to_the_latest_revision(tmp_path: os.PathLike[str]) -> None:
    url = f"sqlite:///{tmp_path}/fresh.db"
    first = _run("app.migrate", DATABASE_URL=url)
    again = _run("app.migrate", DATABASE_URL=url)  # safe to run on every deploy
    for result in (first, again):
        assert result.returncode == 0, result.stderr
    # Each run says what it did: the first applied every revision, the second nothing.
    every = ", ".join(_revisions_oldest_first())
    latest = f"the database is at the latest revision ({SCHEMA_HEAD})"
    assert first.stdout.splitlines() == [f"applied {every}: {latest}"]
    assert again.stdout.splitlines() == [f"nothing to apply: {latest}"]


def _revisions_oldest_first() -> list[str]:
    scripts = ScriptDirectory.from_config(alembic_config())
    return [script.revision for script in reversed(list(scripts.walk_revisions()))]


async def _health_db_at_revision(
    client: AsyncClient, session: AsyncSession, revision: str
) -> tuple[int, str]:
    """GET /health/db with the database's recorded revision set to `revision`."""
    await session.exec(text(f"UPDATE alembic_version SET version_num = '{revision}'"))  # type: ignore[call-overload]
    await session.commit()
    try:
        response = await client.get("/health/db")
    finally:
        await session.exec(text(f"UPDATE alembic_version SET version_num = '{SCHEMA_HEAD}'"))  # type: ignore[call-overload]
        await session.commit()
    return response.status_code, response.json().get("detail", "")


async def test_health_db_is_503_with_the_reason_when_the_schema_is_behind(
    client: AsyncClient, session: AsyncSession
) -> None:
    previous = _revisions_oldest_first()[-2]
    status, detail = await _health_db_at_revision(client, session, previous)
    assert status == 503
    assert detail == (
        f"the database schema is at revision {previous}, the code needs {SCHEMA_HEAD}: "
        "run the migrate step (python -m app.migrate)"
    )


async def test_health_db_names_a_revision_the_code_does_not_have(
    client: AsyncClient, session: AsyncSession
) -> None:
    """Migrating cannot help there (`app.migrate` would fail: "Can't locate revision"), so the
    advice is not to migrate."""
    status, detail = await _health_db_at_revision(client, session, "0895b59e9db8")
    assert status == 503
    assert "revision 0895b59e9db8, which is not in migrations/versions" in detail
    assert "deploy the code that has it" in detail and "Undo a revision" in detail
    assert "app.migrate" not in detail


async def test_health_db_is_200_on_an_up_to_date_schema(client: AsyncClient) -> None:
    response = await client.get("/health/db")
    assert (response.status_code, response.json()) == (200, {"status": "ok", "database": "ok"})


# --- the engine's settings (PostgreSQL) --------------------------------------------------


@pytest.fixture
async def engine_with(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[object]:
    engines: list[AsyncEngine] = []

    def build(**overrides: object) -> AsyncEngine:
        for name, value in overrides.items():
            monkeypatch.setattr(settings, name, value)
        engines.append(db.make_engine(TEST_DB.url))
        return engines[-1]

    yield build
    for engine in engines:
        await engine.dispose()


async def _prepared_after_repeats(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        for _ in range(8):  # psycopg prepares a statement from its 5th execution by default
            await connection.execute(text("SELECT count(*) FROM posts WHERE id > :n"), {"n": 0})
        result = await connection.execute(text("SELECT count(*) FROM pg_prepared_statements"))
        return int(result.scalar_one())


@pytest.mark.postgres_only
async def test_statement_timeout_bounds_every_query(engine_with) -> None:
    engine = engine_with(DB_STATEMENT_TIMEOUT_MS=1234, DB_PGBOUNCER=False)
    async with engine.connect() as connection:
        shown = (await connection.execute(text("SHOW statement_timeout"))).scalar_one()
    assert shown == "1234ms"


@pytest.mark.postgres_only
async def test_pgbouncer_mode_uses_no_server_side_prepared_statements(engine_with) -> None:
    assert await _prepared_after_repeats(engine_with(DB_PGBOUNCER=False)) > 0
    assert await _prepared_after_repeats(engine_with(DB_PGBOUNCER=True)) == 0


@pytest.mark.postgres_only
async def test_pool_settings_reach_the_engine(engine_with) -> None:
    engine = engine_with(DB_POOL_SIZE=3, DB_MAX_OVERFLOW=4, DB_POOL_TIMEOUT=2.5)
    pool = engine.pool
    assert (pool.size(), pool._max_overflow, pool._timeout) == (3, 4, 2.5)  # type: ignore[attr-defined]


# --- docs without a CDN ----------------------------------------------------------------


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_docs_pages_load_only_local_assets_under_a_csp(
    client: AsyncClient, page: str
) -> None:
    response = await client.get(page)
    assert response.status_code == 200
    assert response.headers["Content-Security-Policy"] == DOCS_CSP
    assert (
        "script-src 'self'" in DOCS_CSP
        and "unsafe-inline" not in DOCS_CSP.split("script-src")[1].split(";")[0]
    )
    html = response.text
    assert "http://" not in html and "https://" not in html  # nothing from another origin
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert scripts and all('src="' in attrs and not body.strip() for attrs, body in scripts)
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
    assert assets
    for asset in assets:
        fetched = await client.get(asset)
        assert fetched.status_code == 200, asset
        assert len(fetched.content) > 100, asset


async def test_a_database_outage_is_a_503_with_retry_after_never_a_500() -> None:
    app = create_app()

    @app.get("/needs-the-database")
    async def needs_the_database() -> None:
        raise OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused"))

    transport = ASGITransport(app=app, raise_app_exceptions=True)
    async with AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/needs-the-database")
    assert response.status_code == 503
    assert response.json() == {"detail": "Database unavailable"}
    assert response.headers["Retry-After"] == "5"
