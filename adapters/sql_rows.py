"""A partition's rows as plain tuples, for comparing with rows made from JSON (`validate`).

Decoding every SQL row back into a document is most of what validating costs
(bench/profiles/validate-10k.txt); comparing rows with rows needs none of it. The rows are read
by the store's own read hot path (`migrator.adapters.sql_reader`: its statements, compiled once,
on the driver's cursor in one consistent snapshot), in its decoders' column order: a root row
holds its fields then `extra`; a child row its fields, `extra`, then its parent's id. Boolean
columns are given as `bool`, as the codec decodes them (SQLite stores 0 and 1). `decode`
rebuilds a document from these rows, from the same snapshot, when a comparison needs it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import groupby
from operator import itemgetter
from typing import Any

from migrator.adapters.sql_store import SqlStore
from migrator.schemas.declaration import TableMapping
from migrator.schemas.decoding import DocumentDecoder

Row = tuple[Any, ...]


@dataclass
class PartitionRows:
    """id -> root row, and per child table: parent id -> its rows in list order."""

    decoder: DocumentDecoder
    roots: dict[str, Row]
    children: dict[str, dict[str, tuple[Row, ...]]] = field(default_factory=dict)

    def decode(self, doc_id: str) -> dict[str, Any]:
        """The document these rows store (`CorruptRowError` as `codec.from_rows`)."""
        decoder = self.decoder
        lists = [
            decoder.group(i, self.children[table.mapping.name].get(doc_id, ()))
            for i, (_, table) in enumerate(decoder.children)
        ]
        return decoder.document(self.roots[doc_id], lists)


def read_partition_rows(store: SqlStore, partition: str) -> PartitionRows:
    """Every row of `partition`'s documents, in one read transaction."""
    store.tables.ensure_ready()
    reader = store.reader
    plan, decoder = reader.statements, reader.decoder
    key = plan.key(partition)
    with store.database.errors(), store.database.snapshot() as fetch:
        roots = fetch(plan.roots_of_partition, key)
        children = [fetch(sql, key) for sql in plan.children_of_partition]
    booleans = _booleans(decoder.root.mapping)
    if booleans:
        roots = [_as_bools(row, booleans) for row in roots]
    at = decoder.id_at
    rows = PartitionRows(decoder, {row[at]: tuple(row) for row in roots})
    for (_, table), fetched in zip(decoder.children, children, strict=True):
        booleans = _booleans(table.mapping)
        if booleans:
            fetched = [_as_bools(row, booleans) for row in fetched]
        # The reader's statements order a partition's child rows by position alone; a stable
        # sort by parent id keeps each list in that order for groupby.
        rows.children[table.mapping.name] = {
            doc_id: tuple(group) for doc_id, group in groupby(sorted(fetched, key=_last), _last)
        }
    return rows


_last = itemgetter(-1)


def _booleans(mapping: TableMapping) -> tuple[int, ...]:
    return tuple(i for i, f in enumerate(mapping.fields) if f.kind == "bool")


def _as_bools(row: Row, at: tuple[int, ...]) -> Row:
    values = list(row)
    for i in at:
        if values[i] is not None:
            values[i] = bool(values[i])
    return tuple(values)
