"""Passwords are stored as bcrypt hashes of the configured cost; unknown emails cost the same."""

from httpx import AsyncClient
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import security
from app.core.config import settings
from app.models import User
from tests.factories import create_user


def _cost(bcrypt_hash: str | bytes) -> int:
    text = bcrypt_hash.decode() if isinstance(bcrypt_hash, bytes) else bcrypt_hash
    return int(text.split("$")[2])


async def test_passwords_are_stored_as_bcrypt_hashes_of_the_configured_cost(
    client: AsyncClient, session: AsyncSession
) -> None:
    user = await create_user(client, password="s3cret-password")
    stored = (await session.exec(select(User).where(col(User.id) == user["id"]))).one()
    assert stored.hashed_password.startswith("$2b$")
    assert "s3cret-password" not in stored.hashed_password
    assert _cost(stored.hashed_password) == settings.BCRYPT_ROUNDS


async def test_unknown_email_is_checked_against_a_dummy_hash_of_the_same_cost(
    client: AsyncClient,
) -> None:
    response = await client.post(
        "/login", data={"username": "nobody@example.com", "password": "whatever-it-is"}
    )
    assert response.status_code == 401
    assert security._dummy_hash is not None
    assert _cost(security._dummy_hash) == settings.BCRYPT_ROUNDS
