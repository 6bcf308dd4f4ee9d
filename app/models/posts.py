"""Posts: the `posts` table, the create and update bodies, and `PostPublic` (with its owner,
votes and comment count)."""

from datetime import datetime
from typing import Annotated

from pydantic import Field as PydanticField
from pydantic import field_validator
from sqlalchemy import Index
from sqlmodel import Field, col

from app.models.common import (
    VISIBLE_TEXT_RULE,
    APIModel,
    NotNull,
    StrictBool,
    VisibleText,
    example,
    refuse_null,
    utcnow,
)
from app.models.users import UserPublic

Title = Annotated[
    str,
    Field(min_length=1, max_length=200),
    PydanticField(
        description=f"1 to 200 characters, {VISIBLE_TEXT_RULE}",
        examples=["Sourdough starter, week two"],
    ),
    VisibleText(),
]
Content = Annotated[
    str,
    Field(min_length=1, max_length=10_000),
    PydanticField(
        description="1 to 10,000 characters",
        examples=["Rye flour in the first week made the difference."],
    ),
]


class PostBase(APIModel):
    title: Title
    content: Content
    published: StrictBool = True


class Post(PostBase, table=True):
    __tablename__ = "posts"
    __table_args__ = {"sqlite_autoincrement": True}

    id: int | None = Field(default=None, primary_key=True)
    owner_id: int = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime | None = None


# The feed: newest first, then id (a backward scan of this index serves every page).
Index("ix_posts_created_at_id", col(Post.created_at), col(Post.id))
# `search` is a case-insensitive substring match: trigrams serve it on PostgreSQL
# (on SQLite this is a plain index on the title).
Index(
    "ix_posts_title_trgm",
    col(Post.title),
    postgresql_using="gin",
    postgresql_ops={"title": "gin_trgm_ops"},
)


class PostCreate(PostBase):
    model_config = example(
        {
            "title": "Sourdough starter, week two",
            "content": "Rye flour in the first week made the difference.",
            "published": True,
        }
    )


class PostUpdate(APIModel):
    model_config = example({"published": False})

    title: Annotated[Title | None, NotNull] = None
    content: Annotated[Content | None, NotNull] = None
    published: Annotated[StrictBool | None, NotNull] = None

    _no_nulls = field_validator("title", "content", "published", mode="before")(refuse_null)


class PostPublic(PostBase):
    model_config = example(
        {
            "id": 42,
            "title": "Sourdough starter, week two",
            "content": "Rye flour in the first week made the difference.",
            "published": True,
            "created_at": "2026-11-22T09:15:00Z",
            "updated_at": None,
            "owner_id": 1,
            "owner": {"id": 1, "name": "Alice Martin", "created_at": "2026-11-20T08:00:00Z"},
            "votes": 3,
            "voted": False,
            "comments": 2,
        }
    )

    id: int
    created_at: datetime
    updated_at: datetime | None
    owner_id: int
    owner: UserPublic
    votes: int  # how many users voted for the post
    voted: bool  # whether the caller has voted for it
    comments: int  # how many of its comments the caller can see
