"""Settings from the environment and `.env` (pydantic-settings)."""

import json
import re
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from app.core.startup import refuse_to_start

DEV_SECRET_KEY = "dev-secret-key-change-me-in-production-0123456789"
MIN_SECRET_KEY_BYTES = 32
_MAKE_A_KEY = (
    f"set a long random value (openssl rand -base64 48), at least {MIN_SECRET_KEY_BYTES} bytes"
)
# Given any of these, production means to send e-mail (`Settings.email_backend`).
_EMAIL_SETTINGS = (
    "SMTP_HOST",
    "SMTP_PORT",
    "SMTP_USERNAME",
    "SMTP_PASSWORD",
    "SMTP_SECURITY",
    "SMTP_TIMEOUT",
    "EMAIL_FROM",
)

# Hosting platforms hand out `postgres://` / `postgresql://` URLs; SQLite users write
# `sqlite:///file.db`. The app is async all the way, so each gets its async driver.
_ASYNC_DRIVERS = {
    "postgres": "postgresql+psycopg",
    "postgresql": "postgresql+psycopg",
    "postgresql+psycopg2": "postgresql+psycopg",
    "postgresql+asyncpg": "postgresql+psycopg",
    "postgresql+psycopg": "postgresql+psycopg",
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
}
URL_SHAPE = "postgresql://user:password@host:5432/name or sqlite:///file.db"


def to_async_url(url: str) -> str:
    """Rewrite a database URL so that it uses psycopg 3 or aiosqlite."""
    scheme, sep, rest = url.strip().partition("://")
    if not sep:
        raise ValueError(f"must look like {URL_SHAPE}")
    driver = _ASYNC_DRIVERS.get(scheme.lower())
    if driver is None:
        raise ValueError(
            f"only PostgreSQL and SQLite are supported, not {scheme!r}: use {URL_SHAPE}"
        )
    # make_url validates the rest of the URL and keeps the password intact.
    try:
        return make_url(f"{driver}://{rest}").render_as_string(hide_password=False)
    except ArgumentError:
        raise ValueError(f"cannot be parsed: use {URL_SHAPE}") from None


_PERIODS = {"second": 1, "minute": 60, "hour": 3600}
_RATE = re.compile(r"([1-9][0-9]{0,8})/(second|minute|hour)")


@dataclass(frozen=True)
class Rate:
    """A rate-limit setting, "N/second", "N/minute" or "N/hour": `limit` requests at once,
    refilled at `limit` per `period` seconds."""

    limit: int
    period: float

    @classmethod
    def parse(cls, text: str) -> "Rate":
        match = _RATE.fullmatch(text.strip())
        if match is None:
            raise ValueError(f"{text!r} is not a rate like '10/minute' (N/second|minute|hour)")
        return cls(limit=int(match[1]), period=_PERIODS[match[2]])

    @property
    def interval(self) -> float:
        """Seconds for one token to come back."""
        return self.period / self.limit

    def __str__(self) -> str:
        unit = {seconds: name for name, seconds in _PERIODS.items()}[int(self.period)]
        return f"{self.limit}/{unit}"


def _rate(value: object) -> object:
    return Rate.parse(value) if isinstance(value, str) else value


# "N/second", "N/minute" or "N/hour": a burst of N, refilled at N per period.
RateSetting = Annotated[Rate, NoDecode, BeforeValidator(_rate)]


def _upper(value: object) -> object:
    return value.strip().upper() if isinstance(value, str) else value


LogLevel = Annotated[Literal["DEBUG", "INFO", "WARNING", "ERROR"], BeforeValidator(_upper)]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_ignore_empty=True, extra="ignore")

    ENVIRONMENT: Literal["development", "production", "test"] = "development"
    SECRET_KEY: str = DEV_SECRET_KEY
    ACCESS_TOKEN_EXPIRE_MINUTES: int = Field(default=15, ge=1, le=60 * 24)
    BCRYPT_ROUNDS: int = Field(default=12, ge=4, le=31)

    # Sessions and password resets (docs/accounts.md).
    # A session ends when its refresh token goes unused this long.
    REFRESH_TOKEN_EXPIRE_DAYS: int = Field(default=30, ge=1, le=365)
    PASSWORD_RESET_EXPIRE_MINUTES: int = Field(default=30, ge=1, le=60 * 24)
    # The link in the reset e-mail; {token} is replaced by the token (URL-safe). The default is
    # this API's own minimal reset page (app/web/reset_page.py), as `fastapi dev` serves it.
    PASSWORD_RESET_URL: str = "http://127.0.0.1:8000/reset-password?token={token}"
    # console: e-mails are written to the log; smtp: sent through SMTP_HOST. Unset: console,
    # except in production once any e-mail setting is given (`email_backend`).
    EMAIL_BACKEND: Literal["console", "smtp"] | None = None
    EMAIL_FROM: str = "Posts API <no-reply@localhost>"
    SMTP_HOST: str | None = None
    SMTP_PORT: int = Field(default=587, ge=1, le=65535)
    SMTP_USERNAME: str | None = None
    SMTP_PASSWORD: str | None = None
    # starttls: plain connection upgraded with STARTTLS (port 587); tls: TLS from the start
    # (port 465); none: no encryption (a local relay only).
    SMTP_SECURITY: Literal["starttls", "tls", "none"] = "starttls"
    SMTP_TIMEOUT: float = Field(default=10, gt=0, description="seconds per SMTP exchange")

    # Comma-separated origins (or a JSON list); empty means no CORS headers at all.
    CORS_ORIGINS: Annotated[list[str], NoDecode] = []
    CORS_ALLOW_CREDENTIALS: bool = False

    # json: one JSON object per line (log collectors); text: readable lines.
    # Unset: json in production, text elsewhere.
    LOG_FORMAT: Literal["json", "text"] | None = None
    LOG_LEVEL: LogLevel = "INFO"  # any case: debug, Info, ...

    DATABASE_URL: str = "sqlite:///./app.db"
    # The PostgreSQL connection pool, one per worker process, for sessions and the read path
    # alike. A fixed size: requests beyond it wait (up to DB_POOL_TIMEOUT) instead of opening
    # and closing overflow connections per burst.
    DB_POOL_SIZE: int = Field(default=5, ge=1)
    DB_MAX_OVERFLOW: int = Field(default=0, ge=0)
    DB_POOL_TIMEOUT: float = Field(default=10, gt=0, description="seconds to wait for a connection")
    DB_CONNECT_TIMEOUT: int = Field(default=5, ge=1, description="seconds")
    DB_STATEMENT_TIMEOUT_MS: int = Field(default=15_000, ge=0, description="0 turns it off")
    # Behind PgBouncer-style transaction poolers (Supabase, Neon, ...): no server-side
    # prepared statements, no session-level startup options.
    DB_PGBOUNCER: bool = False
    # How long `python -m app.migrate` waits for the database to accept connections.
    MIGRATE_WAIT_SECONDS: float = Field(default=60, ge=0)

    # Rate limits on POST /login and POST /users (app/ratelimit); false for load tests.
    RATE_LIMIT_ENABLED: bool = True
    RATE_LIMIT_LOGIN_PER_ADDRESS: RateSetting = Rate.parse("200/minute")
    # Failed logins per email (successful ones give their token back).
    RATE_LIMIT_LOGIN_PER_ACCOUNT: RateSetting = Rate.parse("10/minute")
    RATE_LIMIT_REGISTER_PER_ADDRESS: RateSetting = Rate.parse("100/minute")
    RATE_LIMIT_REFRESH_PER_ADDRESS: RateSetting = Rate.parse("200/minute")
    RATE_LIMIT_RESET_PER_ADDRESS: RateSetting = Rate.parse("20/minute")
    # Reset e-mails per account (every spelling of the address together).
    RATE_LIMIT_RESET_PER_ACCOUNT: RateSetting = Rate.parse("5/hour")
    # New comments per account.
    RATE_LIMIT_COMMENT_PER_ACCOUNT: RateSetting = Rate.parse("30/minute")
    # Wrong current passwords (PATCH /users/me) per account and per client address: each is a
    # bcrypt check; right ones give their token back.
    RATE_LIMIT_PASSWORD_CHECK_PER_ACCOUNT: RateSetting = Rate.parse("10/minute")
    RATE_LIMIT_PASSWORD_CHECK_PER_ADDRESS: RateSetting = Rate.parse("20/minute")
    # Shared limits across workers and instances; unset: each process counts on its own.
    REDIS_URL: str | None = None
    RATE_LIMIT_REDIS_PREFIX: str = "posts-api:ratelimit:"
    # `python -m app.serve`: proxies whose X-Forwarded-For / -Proto are believed (comma-separated
    # addresses or networks, "*" for any). Anyone else could fake their address past the limits.
    FORWARDED_ALLOW_IPS: str = "127.0.0.1"

    # Slow and greedy clients (docs/operations.md): `python -m app.serve`'s bounds, per worker.
    # Open connections (idle keep-alives included) past which uvicorn answers 503.
    LIMIT_CONCURRENCY: int = Field(default=1000, ge=1)
    BACKLOG: int = Field(default=2048, ge=1, description="connections queued before accept")
    TIMEOUT_KEEP_ALIVE: int = Field(default=5, ge=1, description="idle seconds between requests")
    # Seconds to send the request line and headers (408), and the whole body (408).
    REQUEST_HEADER_TIMEOUT: float = Field(default=10, gt=0)
    REQUEST_BODY_TIMEOUT: float = Field(default=30, gt=0)

    # `python -m app.serve`: the port it listens on (Render and Railway set it) and its worker
    # processes. Read like every other setting, from the environment or `.env`.
    PORT: int = Field(default=8000, ge=1, le=65535)
    WEB_CONCURRENCY: int = Field(default=1, ge=1, le=64)

    @field_validator("SECRET_KEY")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("is blank: set a long random value (openssl rand -base64 48)")
        return value

    @field_validator("DATABASE_URL")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        return to_async_url(value)

    @field_validator("CORS_ORIGINS", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            if value.strip().startswith("["):
                return json.loads(value)
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("PASSWORD_RESET_URL")
    @classmethod
    def _has_token_placeholder(cls, value: str) -> str:
        if "{token}" not in value:
            raise ValueError("must contain {token}, where the reset token goes")
        return value

    def _email_settings_given(self) -> list[str]:
        return [name for name in _EMAIL_SETTINGS if name in self.model_fields_set]

    @property
    def email_backend(self) -> Literal["console", "smtp"]:
        """EMAIL_BACKEND when set. Unset: in production, smtp as soon as any e-mail setting is
        given (SMTP_HOST, ...: sending is meant, so a missing SMTP_HOST stops the start), and
        the log with a warning when none is, so that the documented `docker run` with
        DATABASE_URL and SECRET_KEY alone starts; elsewhere, always the log."""
        if self.EMAIL_BACKEND is not None:
            return self.EMAIL_BACKEND
        if self.ENVIRONMENT == "production" and self._email_settings_given():
            return "smtp"
        return "console"

    @property
    def log_format(self) -> Literal["json", "text"]:
        if self.LOG_FORMAT is not None:
            return self.LOG_FORMAT
        return "json" if self.ENVIRONMENT == "production" else "text"

    def production_problems(self, *, serving: bool = True) -> list[str]:
        """What makes these settings unsafe to run in production (empty elsewhere). With
        `serving=False` (the migrate step, which signs and sends nothing): the database only."""
        if self.ENVIRONMENT != "production":
            return []
        problems = []
        if "DATABASE_URL" not in self.model_fields_set:
            problems.append(
                "DATABASE_URL is not set: set it to the PostgreSQL database's URL "
                "(postgresql://user:password@host:5432/name); production never falls back to "
                "a SQLite file inside the container"
            )
        if not serving:
            return problems
        if "SECRET_KEY" not in self.model_fields_set:
            problems.append(f"SECRET_KEY is not set: {_MAKE_A_KEY}")
        elif self.SECRET_KEY == DEV_SECRET_KEY:
            problems.append(f"SECRET_KEY is the development default: {_MAKE_A_KEY}")
        elif len(self.SECRET_KEY.strip().encode()) < MIN_SECRET_KEY_BYTES:
            problems.append(f"SECRET_KEY is shorter than {MIN_SECRET_KEY_BYTES} bytes")
        if self.email_backend == "smtp" and not self.SMTP_HOST:
            given = self._email_settings_given()  # not empty when EMAIL_BACKEND is unset
            if self.EMAIL_BACKEND == "smtp":
                why = "EMAIL_BACKEND is smtp"
            elif len(given) == 1:
                why = f"{given[0]} is set"
            else:
                why = f"{', '.join(given[:-1])} and {given[-1]} are set"
            problems.append(
                f"SMTP_HOST is not set, yet {why}: set SMTP_HOST (with SMTP_USERNAME, "
                "SMTP_PASSWORD and EMAIL_FROM from your e-mail provider) to send password-reset "
                "e-mails, or EMAIL_BACKEND=console to write them to the log instead"
            )
        if "*" in self.CORS_ORIGINS and self.CORS_ALLOW_CREDENTIALS:
            problems.append(
                "CORS_ORIGINS is '*' while CORS_ALLOW_CREDENTIALS is true: "
                "any website could call the API with the user's credentials"
            )
        return problems

    def production_warnings(self) -> list[str]:
        """What works in production but is likely not what the operator wants: said loudly in
        the log at start-up (empty elsewhere)."""
        if self.ENVIRONMENT != "production":
            return []
        if self.email_backend == "console":
            return [
                "EMAIL_BACKEND is console: no e-mail will leave; password-reset messages (and "
                "their tokens) are written to this log. To send them, set SMTP_HOST, "
                "SMTP_USERNAME, SMTP_PASSWORD and EMAIL_FROM from your e-mail provider, and "
                "leave EMAIL_BACKEND unset (or smtp)."
            ]
        if "PASSWORD_RESET_URL" not in self.model_fields_set:
            return [
                f"PASSWORD_RESET_URL is not set: reset e-mails link to {self.PASSWORD_RESET_URL}, "
                "which works on this machine only. Set it to your front end's reset page, or to "
                "this API's own page: https://<your domain>/reset-password?token={token}"
            ]
        return []

    def refuse_unsafe_production(self, *, serving: bool = True) -> None:
        """Stop the process with a clear message instead of running with unsafe settings."""
        problems = self.production_problems(serving=serving)
        if problems:
            raise SystemExit(
                "Refusing to start with ENVIRONMENT=production:\n"
                + "\n".join(f"  - {problem}" for problem in problems)
            )


_MAY_HOLD_A_PASSWORD = frozenset({"SECRET_KEY", "SMTP_PASSWORD", "DATABASE_URL", "REDIS_URL"})


def settings_error_message(error: ValidationError) -> str:
    """A few lines naming each bad setting, its value and the rule, without a traceback."""
    lines = ["Invalid settings (from the environment or .env):"]
    for problem in error.errors():
        name = ".".join(str(part) for part in problem["loc"]) or "settings"
        message = problem["msg"].removeprefix("Value error, ")
        given = problem.get("input")
        hidden = name in _MAY_HOLD_A_PASSWORD or not isinstance(given, str)
        shown = "" if hidden else f"={given!r}"
        lines.append(f"  - {name}{shown}: {message}")
    lines.append("Fix them in the environment or in .env (README, Configuration), and start again.")
    return "\n".join(lines)


def load_settings() -> Settings:
    """The settings, or the process stops with `settings_error_message` (exit status 1), and
    under `fastapi dev` uvicorn's reloader with it (`refuse_to_start`)."""
    try:
        return Settings()
    except ValidationError as error:
        refuse_to_start(settings_error_message(error))


settings = load_settings()
