"""SQL that reads the same on PostgreSQL and SQLite."""

from typing import Any

from sqlalchemy import Boolean
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

LIKE_ESCAPE = "/"


def like_pattern(text: str) -> str:
    """A LIKE pattern that matches `text` literally anywhere (`%`, `_` match only themselves)."""
    escaped = (
        text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2)
        .replace("%", f"{LIKE_ESCAPE}%")
        .replace("_", f"{LIKE_ESCAPE}_")
    )
    return f"%{escaped}%"


def unicode_lower(value: Any) -> Any:
    """SQLite's own lower() folds ASCII only; app connections register this one instead."""
    return value.lower() if isinstance(value, str) else value


class like_ignoring_case(FunctionElement[bool]):
    """`column` matches the LIKE `pattern` (made by `like_pattern`), ignoring case in every
    alphabet. The pattern is an SQL expression, typically a bound parameter."""

    type = Boolean()
    inherit_cache = True

    def __init__(self, column: Any, pattern: Any) -> None:
        super().__init__(column, pattern)


@compiles(like_ignoring_case)
def _postgresql(element: like_ignoring_case, compiler: Any, **kw: Any) -> str:
    # ILIKE on the bare column, so that the trigram index on it serves the query.
    column, pattern = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"{column} ILIKE {pattern} ESCAPE '{LIKE_ESCAPE}'"


@compiles(like_ignoring_case, "sqlite")
def _sqlite(element: like_ignoring_case, compiler: Any, **kw: Any) -> str:
    column, pattern = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"unicode_lower({column}) LIKE unicode_lower({pattern}) ESCAPE '{LIKE_ESCAPE}'"
