"""Comments: the `comments` table, the create body, and `CommentPublic` (with its author)."""

from datetime import datetime
from typing import Annotated

from pydantic import Field as PydanticField
from sqlalchemy import Index
from sqlmodel import Field, col

from app.models.common import (
    VISIBLE_TEXT,
    VISIBLE_TEXT_FORMAT,
    VISIBLE_TEXT_RULE,
    APIModel,
    example,
    utcnow,
)
from app.models.users import UserPublic

Body = Annotated[
    str,
    Field(min_length=1, max_length=2000),
    PydanticField(
        description=f"1 to 2,000 characters, {VISIBLE_TEXT_RULE}",
        json_schema_extra=VISIBLE_TEXT_FORMAT,
        examples=["Rye made the difference for me too."],
    ),
    VISIBLE_TEXT,
]


class CommentBase(APIModel):
    body: Body


class Comment(CommentBase, table=True):
    __tablename__ = "comments"
    __table_args__ = {"sqlite_autoincrement": True}

    id: int | None = Field(default=None, primary_key=True)
    post_id: int = Field(foreign_key="posts.id", ondelete="CASCADE")
    # Indexed for the cascade when an account is deleted.
    author_id: int = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    created_at: datetime = Field(default_factory=utcnow)


# A post's comments, oldest first: the list walks this index, and each post's count reads it.
Index(
    "ix_comments_post_id_created_at_id",
    col(Comment.post_id),
    col(Comment.created_at),
    col(Comment.id),
)


class CommentCreate(CommentBase):
    model_config = example({"body": "Rye made the difference for me too."})


class CommentPublic(CommentBase):
    model_config = example(
        {
            "id": 7,
            "post_id": 42,
            "body": "Rye made the difference for me too.",
            "created_at": "2026-11-22T10:02:00Z",
            "author": {"id": 2, "name": "Bob Nakamura", "created_at": "2026-11-21T08:00:00Z"},
        }
    )

    id: int
    post_id: int
    created_at: datetime
    author: UserPublic
