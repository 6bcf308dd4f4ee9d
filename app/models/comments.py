"""Comments: the `comments` table, the create body, and `CommentPublic` (with its author)."""

from datetime import datetime
from typing import Annotated

from sqlalchemy import Index
from sqlmodel import Field

from app.models.common import APIModel, VisibleText, example, utcnow
from app.models.users import UserPublic

_TEXT = "Rye made the difference for me too."


class CommentBase(APIModel):
    body: Annotated[str, Field(min_length=1, max_length=2000), VisibleText()]


class Comment(CommentBase, table=True):
    __tablename__ = "comments"
    # A post's comments, oldest first: the list walks this index, and each post's count reads it.
    __table_args__ = (
        Index("ix_comments_post_id_created_at_id", "post_id", "created_at", "id"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    post_id: int = Field(foreign_key="posts.id", ondelete="CASCADE")
    author_id: int = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    created_at: datetime = Field(default_factory=utcnow)


class CommentCreate(CommentBase):
    model_config = example({"body": _TEXT})


class CommentPublic(CommentBase):
    model_config = example(
        {
            "id": 7,
            "post_id": 42,
            "body": _TEXT,
            "created_at": "2026-11-22T10:02:00Z",
            "author": {"id": 2, "name": "Bob Nakamura", "created_at": "2026-11-21T08:00:00Z"},
        }
    )

    id: int
    post_id: int
    created_at: datetime
    author: UserPublic
