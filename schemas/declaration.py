"""`Schema`: one document collection described as a value.

A schema names a root table (one row per document) and child lists (a document key whose list
of objects becomes rows of a child table, in order). Everything else is derived from the SQLModel
table models themselves: which columns are document fields, their kinds, which are required
(NOT NULL), which take a fixed set of values (`choices`, also made CHECK constraints), and which
must be unique within a list. A user's schema is a declaration like `schemas/sessions.py`; the
engine never needs code per schema.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    func,
)
from sqlmodel import Field, SQLModel

from migrator.errors import SchemaError
from migrator.schemas.searchable import SearchField, resolve_searchable

Kind = Literal["str", "int", "float", "bool", "json"]
KINDS: tuple[Kind, ...] = ("str", "int", "float", "bool", "json")

#: Columns every mapped table carries besides its document fields.
POSITION_COLUMN = "position"
EXTRA_COLUMN = "extra"


class DocumentRow(SQLModel):
    """Mixin for mapped tables: the row's place in its list and what typed columns cannot hold."""

    position: int = Field(default=0)
    extra: str | None = Field(default=None, sa_type=Text)


def document_columns() -> list[Column[Any]]:
    """`DocumentRow`'s columns, as a revision script creating a document table lists them
    (`op.create_table(name, *document_columns(), ...)`), stated here once."""
    return [
        Column(POSITION_COLUMN, Integer(), nullable=False),
        Column(EXTRA_COLUMN, Text(), nullable=True),
    ]


def parent_key(parent: str) -> Any:
    """A child row's link to its parent row (`"sessions.id"`): deleted with it."""
    return Field(foreign_key=parent, ondelete="CASCADE")


def code_point_index(name: str, *columns: str) -> Index:
    """An index whose last column is text sorted as `find` sorts it, by code point (PostgreSQL
    sorts by the database's collation unless told; SQLite's BINARY already is)."""
    return Index(name, *columns, postgresql_ops={columns[-1]: 'COLLATE "C"'})


def choices_field(*values: str, nullable: bool = False) -> Any:
    """A text column limited to `values`: validated on input and enforced by a CHECK constraint."""
    if not values:
        raise SchemaError("choices_field() needs at least one value: none would refuse them all")
    return Field(
        default=None if nullable else ...,
        nullable=nullable,
        sa_column_kwargs={"info": {"choices": tuple(values)}},
    )


def integer_field(*, nullable: bool = True) -> Any:
    """A 64-bit integer column: SQLite's INTEGER is, PostgreSQL's INTEGER holds only 32 bits."""
    return Field(default=None if nullable else ..., nullable=nullable, sa_type=BigInteger)


def json_field(*, nullable: bool = True) -> Any:
    """A column holding any JSON value as text (lists, objects): stored exactly, key order kept."""
    return Field(
        default=None if nullable else ...,
        nullable=nullable,
        sa_type=Text,
        sa_column_kwargs={"info": {"kind": "json"}},
    )


@dataclass(frozen=True)
class DocField:
    """One document key stored in a typed column."""

    key: str
    column: str
    kind: Kind
    required: bool
    choices: tuple[str, ...] | None = None
    unique_in_list: bool = False


@dataclass(frozen=True)
class TableMapping:
    """How the rows of one table relate to objects: which columns are fields, which are ours."""

    table: Table
    fields: tuple[DocField, ...]
    #: Columns the mapping fills itself (partition, parent link, position, extra).
    internal: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.table.name

    @cached_property
    def keys(self) -> frozenset[str]:
        return frozenset(f.key for f in self.fields)


@dataclass(frozen=True)
class ChildList:
    """A document key holding a list of objects, each stored as one row of `model`'s table."""

    key: str
    model: type[SQLModel]
    parent_column: str
    #: An integer primary key of the child table that the database assigns (not a document key).
    surrogate_key: str | None = None
    renames: Mapping[str, str] = field(default_factory=dict)
    #: Whether documents must carry this key (an absent list is kept as absent when optional).
    required: bool = False


@dataclass(frozen=True)
class Schema:
    """One document collection: its tables, its id and partition, and its child lists."""

    name: str
    version: int
    root: type[SQLModel]
    partition_column: str
    id_key: str = "id"
    children: tuple[ChildList, ...] = ()
    #: document key -> column name, where they differ (`type` -> `session_type`).
    renames: Mapping[str, str] = field(default_factory=dict)
    #: The key documents change on every write (`updated_at`): lets validation skip in-flight ones.
    version_key: str | None = None
    #: The usual key order of a document; a document in another order records its own order.
    key_order: tuple[str, ...] = ()
    #: A table with one row per partition that the root rows reference, and how to fill it.
    partition_model: type[SQLModel] | None = None
    partition_row: Callable[[str], dict[str, Any]] | None = None
    #: A folder of Alembic revision scripts shipped with the schema (`migrator db`); a
    #: project's own revisions follow its newest one.
    migrations: Path | None = None
    #: Text keys the full-text index covers: `task`, `chat_history.content` (see `searchable`).
    searchable: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        """Derive the mappings, and refuse a declaration the engine cannot use with one
        `SchemaError` naming the schema (never a ValueError or TypeError)."""
        try:
            self._derive()
        except SchemaError as exc:
            raise SchemaError(exc.reason, self.name) from None

    def _derive(self) -> None:
        if isinstance(self.version, bool) or not isinstance(self.version, int) or self.version < 1:
            raise SchemaError(f"version must be a whole number from 1 on, not {self.version!r}")
        keys = [child.key for child in self.children]
        twice = sorted({key for key in keys if keys.count(key) > 1})
        if twice:
            raise SchemaError(f"child list {twice[0]!r} is declared twice")
        root = _mapping(self.root, self.renames, internal=(self.partition_column,), parent=None)
        children = tuple(
            _mapping(
                child.model,
                child.renames,
                internal=(child.parent_column, *filter(None, [child.surrogate_key])),
                parent=child.parent_column,
            )
            for child in self.children
        )
        object.__setattr__(self, "_root_mapping", root)
        object.__setattr__(self, "_child_mappings", children)
        id_fields = [f for f in root.fields if f.key == self.id_key]
        if not id_fields:
            raise SchemaError(f"the root table has no column for {self.id_key!r}")
        clash = root.keys & {c.key for c in self.children}
        if clash:
            named = ", ".join(map(repr, sorted(clash)))
            raise SchemaError(f"keys both columns and child lists: {named}")
        object.__setattr__(self, "_search_fields", resolve_searchable(self))

    @property
    def root_mapping(self) -> TableMapping:
        mapping: TableMapping = self.__dict__["_root_mapping"]
        return mapping

    @property
    def child_mappings(self) -> tuple[TableMapping, ...]:
        mappings: tuple[TableMapping, ...] = self.__dict__["_child_mappings"]
        return mappings

    @property
    def search_fields(self) -> tuple[SearchField, ...]:
        fields: tuple[SearchField, ...] = self.__dict__["_search_fields"]
        return fields

    @property
    def root_table(self) -> Table:
        return self.root_mapping.table

    @property
    def id_column(self) -> str:
        return next(f.column for f in self.root_mapping.fields if f.key == self.id_key)

    @property
    def partition_table(self) -> Table | None:
        return _table_of(self.partition_model) if self.partition_model else None

    @property
    def tables(self) -> tuple[Table, ...]:
        """Every table of the schema, parents before children (the order to create them in)."""
        partition = (self.partition_table,) if self.partition_table is not None else ()
        return (*partition, self.root_table, *(m.table for m in self.child_mappings))


def _table_of(model: type[SQLModel]) -> Table:
    table = getattr(model, "__table__", None)
    if not isinstance(table, Table):
        name = getattr(model, "__name__", repr(model))
        raise SchemaError(f"{name} is not a SQLModel table (declare it with table=True)")
    return table


def _mapping(
    model: type[SQLModel],
    renames: Mapping[str, str],
    *,
    internal: Sequence[str],
    parent: str | None,
) -> TableMapping:
    table = _table_of(model)
    for needed in (POSITION_COLUMN, EXTRA_COLUMN, *internal):
        if needed not in table.columns:
            raise SchemaError(f"table {table.name!r} needs a column {needed!r}")
    own = (*internal, POSITION_COLUMN, EXTRA_COLUMN)
    for key, column in renames.items():
        if column not in table.columns:
            raise SchemaError(
                f"table {table.name!r}: {key!r} renamed to {column!r}, no such column"
            )
    key_of = {column: key for key, column in renames.items()}
    unique = _unique_within_list(table, parent)
    fields = tuple(
        DocField(
            key=key_of.get(column.name, column.name),
            column=column.name,
            kind=_kind_of(column),
            required=not column.nullable,
            choices=column.info.get("choices"),
            unique_in_list=column.name in unique,
        )
        for column in table.columns
        if column.name not in own
    )
    keys = [f.key for f in fields]
    twice = sorted({key for key in keys if keys.count(key) > 1})
    if twice:
        raise SchemaError(f"table {table.name!r}: document key {twice[0]!r} names two columns")
    for f in fields:
        if f.choices:
            _add_choices_check(table, f.column, f.choices)
    _add_extra_keys_index(table, internal[0])
    return TableMapping(table=table, fields=fields, internal=own)


def _kind_of(column: Column[Any]) -> Kind:
    declared = column.info.get("kind")
    if declared is not None:
        if declared not in KINDS:
            raise SchemaError(
                f"column {column.table.name}.{column.name}: kind {declared!r} is none of "
                f"{', '.join(KINDS)}"
            )
        return declared  # type: ignore[no-any-return]
    sa_type = column.type
    while isinstance(sa_type, TypeDecorator):
        sa_type = sa_type.impl_instance
    try:
        python_type = sa_type.python_type
    except NotImplementedError:
        python_type = object
    kind_by_type: dict[type[Any], Kind] = {bool: "bool", int: "int", float: "float", str: "str"}
    if python_type in kind_by_type:
        return kind_by_type[python_type]
    raise SchemaError(f"column {column.table.name}.{column.name}: unsupported type {column.type}")


def _unique_within_list(table: Table, parent: str | None) -> set[str]:
    """Columns whose values a list may not repeat: unique alone, or unique with the parent link."""
    unique: set[str] = set()
    for constraint in table.constraints:
        if not isinstance(constraint, UniqueConstraint | PrimaryKeyConstraint):
            continue
        names = {c.name for c in constraint.columns} - ({parent} if parent else set())
        if len(names) == 1:
            unique |= names
    return unique


def _add_extra_keys_index(table: Table, column: str) -> None:
    """The few rows whose `extra` holds values of typed fields ("keys"): a query must judge
    those in Python (`migrator.adapters.sql_query`), and finds them through this partial index."""
    name = f"ix_{table.name}_extra_keys"
    if any(index.name == name for index in table.indexes):
        return
    extra = table.c[EXTRA_COLUMN]
    Index(
        name,
        table.c[column],
        sqlite_where=func.instr(extra, '"keys":') > 0,
        postgresql_where=func.strpos(extra, '"keys":') > 0,
    )


def _add_choices_check(table: Table, column: str, choices: tuple[str, ...]) -> None:
    name = f"ck_{table.name}_{column}"
    if any(c.name == name for c in table.constraints):
        return
    quoted = ", ".join("'" + value.replace("'", "''") + "'" for value in choices)
    table.append_constraint(CheckConstraint(f"{column} IN ({quoted})", name=name))
