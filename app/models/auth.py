"""Logging in: the OAuth2 password form and the token it answers with."""

from typing import Annotated, Literal

from pydantic import StringConstraints
from sqlmodel import Field

from app.models.common import APIModel


class LoginForm(APIModel):
    """The OAuth2 password flow's form (what Swagger's Authorize button sends)."""

    username: str = Field(max_length=1024)
    password: str = Field(max_length=1024)
    grant_type: Annotated[str, StringConstraints(pattern="^password$")] | None = None


class Token(APIModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
