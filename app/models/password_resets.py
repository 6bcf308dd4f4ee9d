"""Password resets: the single-use tokens sent by e-mail, and the two request bodies."""

from datetime import datetime

from pydantic import EmailStr
from sqlmodel import Field

from app.models.common import APIModel, example, utcnow
from app.models.users import Password


class PasswordResetToken(APIModel, table=True):
    __tablename__ = "password_reset_tokens"

    token_hash: str = Field(primary_key=True, max_length=64)  # SHA-256, hex
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime


class PasswordResetRequest(APIModel):
    model_config = example({"email": "alice@example.com"})

    email: EmailStr


class PasswordResetConfirm(APIModel):
    model_config = example(
        {"token": "the token from the e-mail", "new_password": "a new long password"}
    )

    token: str = Field(max_length=200)
    new_password: Password
