"""Posts: the `posts` table, the create and update bodies, and `PostPublic` (with its owner and
votes)."""

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, field_validator
from pydantic import Field as PydanticField
from sqlalchemy import Index
from sqlmodel import Field, col

from app.models.common import APIModel, NotNull, StrictBool, refuse_null, utcnow
from app.models.users import UserPublic


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


# The same rule for the OpenAPI document: some character that str.strip() keeps (the
# characters for which str.isspace() is true, spelled out: regex engines disagree on `\s`).
NOT_BLANK_PATTERN = (
    r"[^\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
)

Title = Annotated[
    str,
    Field(min_length=1, max_length=200),
    PydanticField(json_schema_extra={"pattern": NOT_BLANK_PATTERN}),
    AfterValidator(_not_blank),
]
Content = Annotated[str, Field(min_length=1, max_length=10_000)]


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
    pass


class PostUpdate(APIModel):
    title: Annotated[Title | None, NotNull] = None
    content: Annotated[Content | None, NotNull] = None
    published: Annotated[StrictBool | None, NotNull] = None

    _no_nulls = field_validator("title", "content", "published", mode="before")(refuse_null)


class PostPublic(PostBase):
    id: int
    created_at: datetime
    updated_at: datetime | None
    owner_id: int
    owner: UserPublic
    votes: int  # how many users voted for the post
    voted: bool  # whether the caller has voted for it
