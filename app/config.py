"""Settings from the environment and `.env` (pydantic-settings)."""

import json
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url

DEV_SECRET_KEY = "dev-secret-key-change-me-in-production-0123456789"

# Hosting platforms hand out `postgres://` / `postgresql://` URLs; SQLite users write
# `sqlite:///file.db`. The app is async all the way, so each gets its async driver.
_ASYNC_DRIVERS = {
    "postgres": "postgresql+psycopg",
    "postgresql": "postgresql+psycopg",
    "postgresql+psycopg2": "postgresql+psycopg",
    "postgresql+asyncpg": "postgresql+psycopg",
    "sqlite": "sqlite+aiosqlite",
}


def to_async_url(url: str) -> str:
    """Rewrite a database URL so that it uses psycopg 3 or aiosqlite."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError("DATABASE_URL must look like postgresql://... or sqlite:///...")
    driver = _ASYNC_DRIVERS.get(scheme.lower(), scheme)
    # make_url validates the rest of the URL and keeps the password intact.
    return make_url(f"{driver}://{rest}").render_as_string(hide_password=False)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_ignore_empty=True, extra="ignore")

    ENVIRONMENT: Literal["development", "production", "test"] = "development"
    DATABASE_URL: str = "sqlite:///./app.db"
    SECRET_KEY: str = DEV_SECRET_KEY
    ACCESS_TOKEN_EXPIRE_MINUTES: int = Field(default=60, ge=1, le=60 * 24 * 30)
    # Comma-separated origins (or a JSON list); empty means no CORS headers at all.
    CORS_ORIGINS: Annotated[list[str], NoDecode] = []
    BCRYPT_ROUNDS: int = Field(default=12, ge=4, le=31)

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


settings = Settings()
