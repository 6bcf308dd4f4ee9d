"""Rows become public models by column name, never by position.

A statement that feeds a public model names each of its columns after the field it fills:
`columns_for(PostPublic, posts, votes=..., owner=columns_for(UserPublic, owner))` is that select
list (a nested model's fields as `owner__id`, `owner__name`, ...), and every field that is a
column of the same name in `posts` is taken from it without being listed. `Shape` reads the
names the statement really selects (or returns) and builds each model by them. A field without
a column, or a column without a field, raises `ColumnsDisagree` when the statement is built,
that is when the app is imported: a field added to a public model is one edit, in the query
that feeds it, and forgetting it cannot go unnoticed.
"""

import types
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Generic, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel
from sqlalchemy import ColumnElement, FromClause, Select, UpdateBase, select

M = TypeVar("M", bound=BaseModel)
Columns = dict[str, Any]  # field name -> SQL expression, or Columns for a nested model

NESTED = "__"  # `owner__name`: the field `name` of the nested model `owner`


class ColumnsDisagree(Exception):
    """A statement's columns and the fields of the model it feeds do not match."""


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    """The model a field holds (`UserPublic`, or `UserPublic | None`), if it holds one."""
    if get_origin(annotation) in (Union, types.UnionType):
        models = [arg for arg in get_args(annotation) if arg is not type(None)]
        annotation = models[0] if len(models) == 1 else None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def columns_for(
    model: type[BaseModel], source: FromClause | None = None, /, **given: Any
) -> Columns:
    """The SQL expression of every field of `model`: the ones `given`, else the column of
    `source` with the field's name. Raises ColumnsDisagree for a field left without one, or an
    expression given for no field."""
    columns: Columns = {}
    for name in model.model_fields:
        if name in given:
            columns[name] = given.pop(name)
        elif source is not None and name in source.c:
            columns[name] = source.c[name]
        else:
            raise ColumnsDisagree(f"{model.__name__}.{name}: no column feeds this field")
    if given:
        raise ColumnsDisagree(f"{model.__name__} has no field for the columns {sorted(given)}")
    return columns


def looked_up(model: type[BaseModel], table: FromClause, key: ColumnElement[Any]) -> Columns:
    """`model`'s columns read from the row of `table` whose `id` is `key`, a scalar subquery
    each (but the id, which is `key`): for RETURNING, where a join is out of reach (a new
    post's owner, say)."""
    return columns_for(
        model,
        **{
            name: key
            if name == "id"
            else select(table.c[name]).where(table.c.id == key).scalar_subquery()
            for name in model.model_fields
        },
    )


def labelled(columns: Columns, prefix: str = "") -> list[ColumnElement[Any]]:
    """The select (or RETURNING) list of `columns_for`: each expression labelled with its field."""
    listed: list[ColumnElement[Any]] = []
    for name, column in columns.items():
        if isinstance(column, dict):
            listed += labelled(column, f"{prefix}{name}{NESTED}")
        else:
            listed.append(column.label(f"{prefix}{name}"))
    return listed


def names_of(statement: Select[Any] | UpdateBase) -> list[str]:
    """The names of the columns a SELECT selects, or a write returns (RETURNING)."""
    columns = (
        statement.selected_columns if isinstance(statement, Select) else statement.exported_columns
    )
    # keys(), not the collection itself: iterating a ColumnCollection yields the columns.
    return [str(name) for name in columns.keys()]  # noqa: SIM118


Builder = Callable[[Sequence[Any]], Any]


def _builder(model: type[BaseModel], names: Sequence[str], prefix: str, used: set[str]) -> Builder:
    """How a row (in the order of `names`) becomes `model`, planned once, by name."""
    at = {name: index for index, name in enumerate(names)}
    plain: list[tuple[str, int, Callable[[Any], Any] | None]] = []
    nested: list[tuple[str, Builder]] = []
    for name, field in model.model_fields.items():
        inner = _nested_model(field.annotation)
        if inner is not None:
            nested.append((name, _builder(inner, names, f"{prefix}{name}{NESTED}", used)))
            continue
        column = f"{prefix}{name}"
        if column not in at:
            raise ColumnsDisagree(f"{model.__name__}.{name}: no column named {column!r}")
        used.add(column)
        # SQLite answers EXISTS with 0 or 1 where PostgreSQL answers a boolean.
        plain.append((name, at[column], bool if field.annotation is bool else None))
    construct = model.model_construct  # values from the database's own columns: no validation

    def build(row: Sequence[Any]) -> Any:
        values = {
            name: row[index] if convert is None else convert(row[index])
            for name, index, convert in plain
        }
        for name, inner_build in nested:
            values[name] = inner_build(row)
        return construct(**values)

    return build


class Shape(Generic[M]):
    """How the rows of `statement` become `model`s, by the names of its columns. Columns named
    in `ignore` (a gate's, say) are not fields; any other column must be one."""

    def __init__(
        self, model: type[M], statement: Select[Any] | UpdateBase, ignore: Iterable[str] = ()
    ) -> None:
        names = names_of(statement)
        used = set(ignore)
        self._build = _builder(model, names, "", used)
        if unused := [name for name in names if name not in used]:
            raise ColumnsDisagree(f"{model.__name__} has no field for the columns {unused}")
        self.model = model

    def __call__(self, row: Sequence[Any]) -> M:
        built: M = self._build(row)
        return built

    def all(self, rows: Iterable[Sequence[Any]]) -> list[M]:
        return [self._build(row) for row in rows]
