"""Settings: the URLs hosting platforms hand out work as they are."""

import pytest

from app.core.config import Settings, to_async_url


@pytest.mark.parametrize(
    ("given", "used"),
    [
        (
            "postgres://u:p%40ss@db.example.com:5432/app",
            "postgresql+psycopg://u:p%40ss@db.example.com:5432/app",
        ),
        (
            "postgresql://u:pw@host/app?sslmode=require",
            "postgresql+psycopg://u:pw@host/app?sslmode=require",
        ),
        ("postgresql+psycopg://u@host/app", "postgresql+psycopg://u@host/app"),
        ("sqlite:///./app.db", "sqlite+aiosqlite:///./app.db"),
        ("sqlite:////tmp/abs.db", "sqlite+aiosqlite:////tmp/abs.db"),
        ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite:///x.db"),
    ],
)
def test_database_urls_get_their_async_driver(given: str, used: str) -> None:
    assert to_async_url(given) == used
    assert Settings(DATABASE_URL=given, _env_file=None).DATABASE_URL == used


def test_cors_origins_take_a_comma_separated_list_or_json() -> None:
    origins = ["https://a.example.com", "http://localhost:5173"]
    plain = Settings(CORS_ORIGINS="https://a.example.com, http://localhost:5173", _env_file=None)
    as_json = Settings(
        CORS_ORIGINS='["https://a.example.com","http://localhost:5173"]', _env_file=None
    )
    assert plain.CORS_ORIGINS == as_json.CORS_ORIGINS == origins


def test_bcrypt_cost_defaults_to_12() -> None:
    assert Settings.model_fields["BCRYPT_ROUNDS"].default == 12
