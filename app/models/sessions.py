"""Sessions: one per login (a device), the refresh tokens that keep it going, and what a client
sees of them: its sessions and the token pair a login or a refresh answers with."""

from datetime import datetime
from typing import Literal

from sqlalchemy import Index
from sqlmodel import Field

from app.models.common import APIModel, example, utcnow

MAX_USER_AGENT = 512  # longer ones are cut: it is for people to recognise a device
MAX_CLIENT = 64  # an IPv6 address with a short zone fits


class Session(APIModel, table=True):
    __tablename__ = "sessions"
    __table_args__ = (
        # An account's sessions, newest use first (its list of devices), and its expired
        # ones (which its next login deletes), however many it has.
        Index("ix_sessions_user_id_last_used_at", "user_id", "last_used_at", "id"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE")
    created_at: datetime = Field(default_factory=utcnow)
    # Its login or its last refresh: the session ends REFRESH_TOKEN_EXPIRE_DAYS after it.
    last_used_at: datetime = Field(default_factory=utcnow)
    user_agent: str | None = Field(default=None, max_length=MAX_USER_AGENT)
    # The client's IP address at login (canonical form), null when unknown.
    client: str | None = Field(default=None, max_length=MAX_CLIENT)


class RefreshToken(APIModel, table=True):
    """Every refresh token a session was given, by digest: the current one (`used_at` null)
    and the retired ones, so that one presented again is recognised (a copy: the session
    ends). They go with their session."""

    __tablename__ = "refresh_tokens"

    token_hash: str = Field(primary_key=True, max_length=64)  # SHA-256, hex
    session_id: int = Field(foreign_key="sessions.id", ondelete="CASCADE", index=True)
    created_at: datetime = Field(default_factory=utcnow)
    used_at: datetime | None = None


class SessionPublic(APIModel):
    """One logged-in device; `current` is the session of the token that asks."""

    model_config = example(
        {
            "id": 7,
            "created_at": "2026-11-22T09:15:00Z",
            "last_used_at": "2026-11-23T18:02:11Z",
            "user_agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0",
            "client": "203.0.113.7",
            "current": True,
        }
    )

    id: int
    created_at: datetime
    last_used_at: datetime
    user_agent: str | None
    client: str | None
    current: bool


class TokenPair(APIModel):
    """RFC 6749 section 5.1, so OAuth2 clients and Swagger's Authorize button read it as it is."""

    model_config = example(
        {
            "access_token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxIiwic2lkIjo3fQ.sig",
            "token_type": "bearer",
            "expires_in": 900,
            "refresh_token": "Jx0q3Y2m9Qb1Vf8sKc7TzR4uW6nLhD5eA0pGiXoM1yE",
        }
    )

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the access token expires")
    refresh_token: str


class RefreshRequest(APIModel):
    model_config = example({"refresh_token": "Jx0q3Y2m9Qb1Vf8sKc7TzR4uW6nLhD5eA0pGiXoM1yE"})

    refresh_token: str = Field(max_length=200)
