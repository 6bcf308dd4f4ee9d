"""SQL that reads the same on PostgreSQL and SQLite."""

from typing import Any

from sqlalchemy import Boolean, Integer, Select, bindparam
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

LIKE_ESCAPE = "/"


def paged(statement: Select[Any]) -> Select[Any]:
    """One page of `statement`: `limit` rows after the first `skip` (bound parameters)."""
    limit, skip = bindparam("limit", type_=Integer), bindparam("skip", type_=Integer)
    return statement.limit(limit).offset(skip)


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


class in_few(FunctionElement[bool]):
    """`column` is one of the values `subquery` returns, a handful (a page's ids).

    On PostgreSQL `= ANY(ARRAY(subquery))`: the few values are looked up in the column's
    index. The plain `IN (subquery)` let the planner hash-join them against the whole table
    when it is small (a sequential scan of 1,000 posts for a page of 10: the feed's statement
    took 0.52 ms instead of 0.31), and the read path prepares its statements, so that plan
    stays. SQLite keeps `IN (subquery)`."""

    type = Boolean()
    inherit_cache = True

    def __init__(self, column: Any, subquery: Any) -> None:
        super().__init__(column, subquery.scalar_subquery())


def _in_few_parts(element: in_few, compiler: Any, **kw: Any) -> tuple[str, str]:
    column, subquery = element.clauses
    return compiler.process(column, **kw), compiler.process(subquery.element, **kw)


@compiles(in_few)
def _in_few_postgresql(element: in_few, compiler: Any, **kw: Any) -> str:
    column, subquery = _in_few_parts(element, compiler, **kw)
    return f"{column} = ANY(ARRAY({subquery}))"


@compiles(in_few, "sqlite")
def _in_few_sqlite(element: in_few, compiler: Any, **kw: Any) -> str:
    column, subquery = _in_few_parts(element, compiler, **kw)
    return f"{column} IN ({subquery})"
