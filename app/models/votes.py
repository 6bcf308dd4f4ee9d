"""Votes: the `votes` table (one row per user and post) and the vote request body."""

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, field_validator
from sqlmodel import Field

from app.models.common import APIModel, Id, example, utcnow


def _json_integer(value: Any) -> Any:
    """Lax mode would take "5" and true as integers; 5.0 is one (JSON Schema says so)."""
    if isinstance(value, str | bool):
        raise ValueError("must be an integer")
    return value


class Vote(APIModel, table=True):
    __tablename__ = "votes"

    # (post_id, user_id): the primary key also serves "count the votes of this post".
    post_id: int = Field(foreign_key="posts.id", ondelete="CASCADE", primary_key=True)
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE", primary_key=True, index=True)
    created_at: datetime = Field(default_factory=utcnow)


class VoteCreate(APIModel):
    model_config = example({"post_id": 1, "dir": 1})

    post_id: Annotated[Id, BeforeValidator(_json_integer)]
    dir: Literal[0, 1] = Field(description="1 adds the caller's vote, 0 takes it back")

    @field_validator("dir", mode="before")
    @classmethod
    def _integer_only(cls, value: Any) -> Any:
        # `true` and `1.0` would pass as 1 in lax mode; the contract says 1 or 0.
        if type(value) is not int:
            raise ValueError("dir must be the integer 1 or 0")
        return value
