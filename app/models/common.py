"""What every model family shares: the base model, the naming convention, field rules."""

import unicodedata
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import ConfigDict, GetCoreSchemaHandler, GetJsonSchemaHandler, field_validator
from pydantic import Field as PydanticField
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema
from sqlalchemy import Table
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


def utcnow() -> datetime:
    return datetime.now(UTC)


def table_of(model: type[SQLModel]) -> Table:
    """A table model's Table, for statements that need none of the ORM's machinery."""
    table: Table = model.__table__  # type: ignore[attr-defined]  # SQLModel sets it at run time
    return table


def ensure_storable(value: str) -> str:
    """Refuse text that PostgreSQL cannot store: NUL characters and lone surrogates."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must not contain lone surrogates") from None
    return value


# What prints nothing: spaces and line breaks, control and format characters (U+200B, U+FEFF,
# ...), lone combining marks, and the blank "letters" some scripts have.
_INVISIBLE_CATEGORIES = frozenset({"Zs", "Zl", "Zp", "Cc", "Cf", "Cs", "Mn", "Me"})
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")  # Hangul fillers, Braille blank
# Code points this interpreter's Unicode tables (Python 3.11: Unicode 14) leave unassigned are
# visible (a newer emoji, U+1FAE8), except where Unicode reserves them as invisible: its
# Default_Ignorable_Code_Point ranges (DerivedCoreProperties.txt; a stable property, so future
# characters there will not print either) and the noncharacters.
_RESERVED_INVISIBLE = (
    (0x2065, 0x2065),
    (0xFFF0, 0xFFF8),
    (0xE0000, 0xE0FFF),
    (0xFDD0, 0xFDEF),
)
VISIBLE_TEXT_RULE = "at least one visible character (not only spaces or invisible characters)"


def is_visible(character: str) -> bool:
    if character.isspace() or character in _BLANK_LETTERS:
        return False
    category = unicodedata.category(character)
    if category != "Cn":
        return category not in _INVISIBLE_CATEGORIES
    code = ord(character)
    noncharacter = (code & 0xFFFE) == 0xFFFE  # U+FFFE, U+FFFF, U+1FFFE, ...
    return not noncharacter and not any(low <= code <= high for low, high in _RESERVED_INVISIBLE)


def _has_a_visible_character(value: str) -> str:
    if not any(is_visible(character) for character in value):
        raise ValueError(f"must contain {VISIBLE_TEXT_RULE}")
    return value


class VisibleText:
    """Annotated metadata for text that must show something (titles, comment bodies): put it
    after the field's length, so that empty text is too short before it is invisible. The
    OpenAPI document says the rule in the field's description (unless the field has its own),
    and `format: visible-text` for tools (the fuzz tests generate text for it): JSON Schema
    cannot say it in its own words."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(
            _has_a_visible_character, handler(source)
        )

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema["format"] = "visible-text"
        # A field's own description, if it has one, says it in its words (pydantic puts it on
        # top of this one).
        json_schema.setdefault("description", VISIBLE_TEXT_RULE[0].upper() + VISIBLE_TEXT_RULE[1:])
        return json_schema


Id = Annotated[int, Field(ge=1, le=MAX_ID)]
# JSON booleans only: lax mode would take 0, 1, "yes" or "off" for a boolean.
StrictBool = Annotated[bool, PydanticField(strict=True)]


class APIModel(SQLModel):
    """Base of every model: text fields anywhere refuse NUL and lone surrogates."""

    @field_validator("*", mode="before")
    @classmethod
    def _storable_text(cls, value: Any) -> Any:
        return ensure_storable(value) if isinstance(value, str) else value


def example(*examples: dict[str, Any]) -> Any:
    """A model's realistic example(s), for Swagger's "Try it out" and ReDoc's samples, as a
    `model_config`. Typed Any: SQLModel types `model_config` as its own TypedDict (private, a
    superset of pydantic's ConfigDict), which a ConfigDict may not be assigned to."""
    return ConfigDict(json_schema_extra={"examples": list(examples)})


def _without_null(schema: dict[str, Any]) -> None:
    """The OpenAPI side of `refuse_null`: the field may be left out, but is never null."""
    branches = [branch for branch in schema.pop("anyOf", []) if branch.get("type") != "null"]
    schema.pop("default", None)
    if len(branches) == 1:
        schema.update(branches[0])
    elif branches:
        schema["anyOf"] = branches


# For `X | None = None` fields of PATCH bodies whose null is refused.
NotNull = PydanticField(json_schema_extra=_without_null)


def refuse_null(value: Any) -> Any:
    """PATCH semantics: a field left out keeps its value; `null` for a required one is an error.

    Used as a before-validator, which runs only for fields that were sent.
    """
    if value is None:
        raise ValueError("may not be null")
    return value


class Message(APIModel):
    """A plain confirmation, e.g. `{"message": "Successfully added vote"}`."""

    model_config = example({"message": "Successfully added vote"})

    message: str
