"""Users: the `users` table, sign-up and profile bodies, and what others and the user see."""

import unicodedata
from datetime import datetime
from typing import Annotated, Any

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, ConfigDict, EmailStr, ValidationInfo, field_validator
from pydantic import Field as PydanticField
from pydantic_core import PydanticCustomError
from sqlalchemy import Index, text
from sqlmodel import Field, col

from app.models.common import APIModel, NotNull, StrictBool, example, refuse_null, utcnow

MAX_PASSWORD_BYTES = 72  # bcrypt's limit; bcrypt 5 raises past it


def email_key(address: str) -> str:
    """The canonical form that identifies an account (API.md, "Field rules"): surrounding spaces
    removed, Unicode NFC, the domain in one IDNA form (email-validator's, as it validates
    sign-ups), then full case folding (`str.casefold()`: "İ" is not "i", "ß" is "ss").

    Sign-up, e-mail changes, logins, password resets and every per-account rate limit go
    through it: two spellings of one canonical address are one account everywhere. Text that
    is not an address (a login with a typo) gets a key too, which matches no account.
    """
    address = address.strip()
    if address.isascii() and "xn--" not in address.lower():
        # What email-validator would give (a login computes the key of every attempt): an
        # ASCII address keeps its local part and lowercases its domain, and invalid text is
        # casefolded as written, so either way the key is the casefolded text. Only an ASCII
        # domain in Punycode ("xn--") has another IDNA form. (tests/test_users.py checks the
        # two paths agree.)
        return address.casefold()
    return _validated_key(address)


def _validated_key(address: str) -> str:
    address = unicodedata.normalize("NFC", address)
    try:
        parts = validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        return address.casefold()
    return f"{parts.local_part}@{parts.domain}".casefold()


def _no_encoded_word(address: str) -> str:
    # "=?" opens an RFC 2047 encoded-word, which email-validator accepts in a local part but
    # mail libraries decode in a `To:` header: "=?x?q?a=40evil.example=2c?=victim@corp.example"
    # reads as two recipients there. No real mailbox needs it.
    if "=?" in address:
        raise PydanticCustomError(
            "value_error",
            "value is not a valid email address: {reason}",
            {"reason": "'=?' is not allowed (it starts an encoded word in a mail header)"},
        )
    return address


# An address an account is registered with (sign-up, e-mail change): email-validator's rules
# (what EmailStr runs, and its normalized form), and one that a mail header cannot read as
# another.
AccountEmail = Annotated[EmailStr, AfterValidator(_no_encoded_word)]


def _password_fits_bcrypt(value: str) -> str:
    if len(value.encode("utf-8")) > MAX_PASSWORD_BYTES:
        raise ValueError(f"must be at most {MAX_PASSWORD_BYTES} bytes in UTF-8")
    return value


Name = Annotated[str, Field(min_length=1, max_length=50)]
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


class UserBase(APIModel):
    name: str | None = Field(default=None, min_length=1, max_length=50)


class User(UserBase, table=True):
    __tablename__ = "users"
    # SQLite would otherwise hand a deleted user's id to the next account.
    __table_args__ = {"sqlite_autoincrement": True}

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320)  # as the user wrote it (validated, normalized)
    # `email_key(email)`: one account per canonical address; also serves the login lookup.
    email_key: str = Field(unique=True)
    hashed_password: str = Field(max_length=100)
    created_at: datetime = Field(default_factory=utcnow)
    is_admin: bool = False  # made from the command line first (app/cli/admin.py)
    disabled: bool = False  # by an admin: no login, no session, posts hidden (but to admins)
    # Bumped by whatever ends every session (a password change or reset, logout-all, being
    # disabled): a login whose password check began before it never gets a session.
    auth_epoch: int = 0


# Admins list accounts newest first.
Index("ix_users_created_at_id", col(User.created_at), col(User.id))
# The few disabled accounts, whose posts the feed leaves out. (The conditions are SQL text, as
# autogenerate can write them into a revision.)
Index(
    "ix_users_disabled",
    col(User.id),
    postgresql_where=text("disabled"),
    sqlite_where=text("disabled"),
)
# The few enabled admins, locked by every change that could leave none (app/services/users.py).
Index(
    "ix_users_active_admins",
    col(User.id),
    postgresql_where=text("is_admin AND NOT disabled"),
    sqlite_where=text("is_admin AND NOT disabled"),
)
# Admins search accounts by a substring of the address or the name (trigrams on PostgreSQL).
Index(
    "ix_users_email_trgm",
    col(User.email),
    postgresql_using="gin",
    postgresql_ops={"email": "gin_trgm_ops"},
)
Index(
    "ix_users_name_trgm",
    col(User.name),
    postgresql_using="gin",
    postgresql_ops={"name": "gin_trgm_ops"},
)


class UserCreate(UserBase):
    model_config = example(
        {"email": "alice@example.com", "password": "correct horse battery", "name": "Alice Martin"}
    )

    email: AccountEmail
    password: Password


# The OpenAPI document says what the validators enforce: email and password may be left out but
# not null, and changing either needs a (non-empty) current_password.
_CURRENT_PASSWORD_NEEDED: dict[str, Any] = {
    "dependentSchemas": {
        field: {
            "required": ["current_password"],
            "properties": {"current_password": {"type": "string", "minLength": 1}},
        }
        for field in ("email", "password")
    }
}


class UserUpdate(APIModel):
    # SQLModel types model_config as its own TypedDict (private), a superset of ConfigDict.
    model_config = ConfigDict(  # type: ignore[assignment]
        json_schema_extra={
            **_CURRENT_PASSWORD_NEEDED,
            "examples": [
                {"name": "Alice M."},
                {"email": "alice@work.example", "current_password": "correct horse battery"},
            ],
        }
    )

    name: Name | None = None
    email: Annotated[AccountEmail | None, NotNull] = None
    password: Annotated[Password | None, NotNull] = None
    # Declared last: its check reads the fields validated before it.
    current_password: str | None = Field(
        default=None, max_length=1024, schema_extra={"validate_default": True}
    )

    _no_nulls = field_validator("email", "password", mode="before")(refuse_null)

    @field_validator("current_password")
    @classmethod
    def _required_for_sensitive_changes(cls, value: str | None, info: ValidationInfo) -> str | None:
        changing = info.data.get("email") is not None or info.data.get("password") is not None
        if changing and not value:
            raise ValueError("required to change email or password")
        return value


_ALICE = {
    "id": 1,
    "name": "Alice Martin",
    "created_at": "2026-11-22T09:15:00Z",
    "email": "alice@example.com",
}


class UserPublic(UserBase):
    """What everyone may see of a user: e-mail addresses are private."""

    model_config = example({key: value for key, value in _ALICE.items() if key != "email"})

    id: int
    created_at: datetime


class UserMe(UserPublic):
    """What a user sees of themselves."""

    model_config = example({**_ALICE, "is_admin": False})

    email: str
    is_admin: bool


class UserAdmin(UserMe):
    """What an admin sees of any account."""

    model_config = example({**_ALICE, "is_admin": False, "disabled": False, "posts": 3})

    disabled: bool
    posts: int  # how many posts, drafts included


class UserAdminUpdate(APIModel):
    """What an admin may change of an account: fields left out keep their values."""

    model_config = example({"disabled": True})

    disabled: Annotated[StrictBool | None, NotNull] = None
    is_admin: Annotated[StrictBool | None, NotNull] = None

    _no_nulls = field_validator("disabled", "is_admin", mode="before")(refuse_null)
