"""Logging in: the OAuth2 password form (it answers with a TokenPair, in sessions.py), and what
a login reads of the account."""

from typing import Annotated

from pydantic import StringConstraints
from sqlmodel import Field

from app.models.common import APIModel


class LoginForm(APIModel):
    """The OAuth2 password flow's form (what Swagger's Authorize button sends)."""

    username: str = Field(
        max_length=1024,
        description="Your e-mail address (the OAuth2 password flow calls it username)",
        schema_extra={"examples": ["alice@example.com"]},
    )
    password: str = Field(max_length=1024, schema_extra={"examples": ["demo-password"]})
    grant_type: Annotated[str, StringConstraints(pattern="^password$")] | None = Field(
        default=None, schema_extra={"examples": ["password"]}
    )


class LoginAccount(APIModel):
    """What a login reads of the account whose address it names: the password to check, and
    what starting a session needs (`auth_epoch`: a change since ends the login)."""

    id: int
    hashed_password: str
    disabled: bool
    auth_epoch: int
