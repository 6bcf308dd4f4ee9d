"""One SQLModel family per entity: XBase, X(table=True), XCreate, XUpdate, XPublic."""

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    StringConstraints,
    ValidationInfo,
    field_validator,
)
from pydantic import Field as PydanticField
from sqlalchemy import Index, func
from sqlmodel import Field, SQLModel

# Named constraints, so that migrations can refer to (and drop) them on every database.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

MAX_ID = 2**31 - 1  # ids are PostgreSQL `integer`s
MAX_PASSWORD_BYTES = 72  # bcrypt's limit; bcrypt 5 raises past it


def utcnow() -> datetime:
    return datetime.now(UTC)


def ensure_storable(value: str) -> str:
    """Refuse text that PostgreSQL cannot store: NUL characters and lone surrogates."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must not contain lone surrogates") from None
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


# The same rule for the OpenAPI document: some character that str.strip() keeps (the
# characters for which str.isspace() is true, spelled out: regex engines disagree on `\s`).
NOT_BLANK_PATTERN = (
    r"[^\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
)


def _password_fits_bcrypt(value: str) -> str:
    if len(value.encode("utf-8")) > MAX_PASSWORD_BYTES:
        raise ValueError(f"must be at most {MAX_PASSWORD_BYTES} bytes in UTF-8")
    return value


Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Name = Annotated[str, Field(min_length=1, max_length=50)]
Title = Annotated[
    str,
    Field(min_length=1, max_length=200),
    PydanticField(json_schema_extra={"pattern": NOT_BLANK_PATTERN}),
    AfterValidator(_not_blank),
]
Content = Annotated[str, Field(min_length=1, max_length=10_000)]
# At most 72 bytes in UTF-8, so at most 72 characters; `format: password` (what Swagger masks)
# also tells the fuzzer's strategy to respect the byte limit, which JSON Schema cannot express.
Password = Annotated[
    str,
    Field(min_length=8, max_length=MAX_PASSWORD_BYTES),
    PydanticField(
        json_schema_extra={"format": "password"},
        description=f"8 characters to {MAX_PASSWORD_BYTES} bytes in UTF-8",
    ),
    AfterValidator(_password_fits_bcrypt),
]
# JSON booleans only: lax mode would take 0, 1, "yes" or "off" for a boolean.
StrictBool = Annotated[bool, PydanticField(strict=True)]


def _json_integer(value: Any) -> Any:
    """Lax mode would take "5" and true as integers; 5.0 is one (JSON Schema says so)."""
    if isinstance(value, str | bool):
        raise ValueError("must be an integer")
    return value


class APIModel(SQLModel):
    """Base of every model: text fields anywhere refuse NUL and lone surrogates."""

    @field_validator("*", mode="before")
    @classmethod
    def _storable_text(cls, value: Any) -> Any:
        return ensure_storable(value) if isinstance(value, str) else value


def _without_null(schema: dict[str, Any]) -> None:
    """The OpenAPI side of `_refuse_null`: the field may be left out, but is never null."""
    branches = [branch for branch in schema.pop("anyOf", []) if branch.get("type") != "null"]
    schema.pop("default", None)
    if len(branches) == 1:
        schema.update(branches[0])
    elif branches:
        schema["anyOf"] = branches


# For `X | None = None` fields of PATCH bodies whose null is refused.
NotNull = PydanticField(json_schema_extra=_without_null)


def _refuse_null(value: Any) -> Any:
    """PATCH semantics: a field left out keeps its value; `null` for a required one is an error.

    Used as a before-validator, which runs only for fields that were sent.
    """
    if value is None:
        raise ValueError("may not be null")
    return value


# --- users -----------------------------------------------------------------------------


class UserBase(APIModel):
    name: str | None = Field(default=None, min_length=1, max_length=50)


class User(UserBase, table=True):
    __tablename__ = "users"
    # SQLite would otherwise hand a deleted user's id to the next account.
    __table_args__ = {"sqlite_autoincrement": True}

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320)
    hashed_password: str = Field(max_length=100)
    created_at: datetime = Field(default_factory=utcnow)
    # Tokens issued before this moment are refused (password change, logout everywhere).
    tokens_valid_after: datetime = Field(default_factory=utcnow)


# One account per email, compared case-insensitively; also serves the login lookup.
Index("uq_users_email_lower", func.lower(User.email), unique=True)


class UserCreate(UserBase):
    email: EmailStr
    password: Password


class UserUpdate(APIModel):
    # The OpenAPI document says what the validators enforce: email and password may be left
    # out but not null, and changing either needs a (non-empty) current_password.
    model_config = ConfigDict(
        json_schema_extra={
            "dependentSchemas": {
                field: {
                    "required": ["current_password"],
                    "properties": {"current_password": {"type": "string", "minLength": 1}},
                }
                for field in ("email", "password")
            }
        }
    )

    name: Name | None = None
    email: Annotated[EmailStr | None, NotNull] = None
    password: Annotated[Password | None, NotNull] = None
    # Declared last: its check reads the fields validated before it.
    current_password: str | None = Field(
        default=None, max_length=1024, schema_extra={"validate_default": True}
    )

    _no_nulls = field_validator("email", "password", mode="before")(_refuse_null)

    @field_validator("current_password")
    @classmethod
    def _required_for_sensitive_changes(cls, value: str | None, info: ValidationInfo) -> str | None:
        changing = info.data.get("email") is not None or info.data.get("password") is not None
        if changing and not value:
            raise ValueError("required to change email or password")
        return value


class UserPublic(UserBase):
    id: int
    created_at: datetime


class UserMe(UserPublic):
    email: str


# --- posts -----------------------------------------------------------------------------


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
Index("ix_posts_created_at_id", Post.created_at, Post.id)
# `search` is a case-insensitive substring match: trigrams serve it on PostgreSQL
# (on SQLite this is a plain index on the title).
Index(
    "ix_posts_title_trgm",
    Post.title,
    postgresql_using="gin",
    postgresql_ops={"title": "gin_trgm_ops"},
)


class PostCreate(PostBase):
    pass


class PostUpdate(APIModel):
    title: Annotated[Title | None, NotNull] = None
    content: Annotated[Content | None, NotNull] = None
    published: Annotated[StrictBool | None, NotNull] = None

    _no_nulls = field_validator("title", "content", "published", mode="before")(_refuse_null)


class PostPublic(PostBase):
    id: int
    created_at: datetime
    updated_at: datetime | None
    owner_id: int
    owner: UserPublic
    votes: int
    voted: bool


# --- votes -----------------------------------------------------------------------------


class Vote(APIModel, table=True):
    __tablename__ = "votes"

    # (post_id, user_id): the primary key also serves "count the votes of this post".
    post_id: int = Field(foreign_key="posts.id", ondelete="CASCADE", primary_key=True)
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE", primary_key=True, index=True)
    created_at: datetime = Field(default_factory=utcnow)


class VoteCreate(APIModel):
    post_id: Annotated[Id, BeforeValidator(_json_integer)]
    dir: Literal[0, 1] = Field(description="1 adds the caller's vote, 0 takes it back")

    @field_validator("dir", mode="before")
    @classmethod
    def _integer_only(cls, value: Any) -> Any:
        # `true` and `1.0` would pass as 1 in lax mode; the contract says 1 or 0.
        if type(value) is not int:
            raise ValueError("dir must be the integer 1 or 0")
        return value


# --- auth and plain messages -----------------------------------------------------------


class LoginForm(APIModel):
    """The OAuth2 password flow's form (what Swagger's Authorize button sends)."""

    username: str = Field(max_length=1024)
    password: str = Field(max_length=1024)
    grant_type: Annotated[str, StringConstraints(pattern="^password$")] | None = None


class Token(APIModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"


class Message(APIModel):
    message: str
