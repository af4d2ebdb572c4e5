"""Queries answered by scanning the JSON files: the reference semantics of
`migrator.adapters.query`.

No index: every file of the store (or the one partition asked) is read and each document tested
in Python. What the JSON phases answer, and what SQL must answer identically.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from migrator.adapters.query import ChildCriteria, Page, Query
from migrator.adapters.query_semantics import SortPosition, matches, page_of, sort_values
from migrator.schemas.declaration import Schema

if TYPE_CHECKING:
    from migrator.adapters.json_store import JsonStore

Document = dict[str, Any]


def summary_of(schema: Schema, doc: Mapping[str, Any]) -> Document:
    """The document without its child lists, keys in the document's order."""
    child_keys = {child.key for child in schema.children}
    return {key: value for key, value in doc.items() if key not in child_keys}


def summaries(store: JsonStore, partition: str) -> list[Document]:
    """A partition's summaries in stored order."""
    return [summary_of(store.schema, doc) for doc in store.list(partition)]


def run(store: JsonStore, query: Query) -> Page:
    """The page `query` asks for, by a scan of the files."""
    schema = store.schema
    id_key = schema.id_key
    after = SortPosition(query.order, *query.after) if query.after is not None else None
    partitions = [query.partition] if query.partition is not None else store.partitions()
    ranked: list[tuple[SortPosition, Any]] = []
    for partition in partitions:
        for doc in store.list(partition):
            doc_id = doc.get(id_key)
            if not isinstance(doc_id, str):
                continue
            if not all(matches(c, doc) for c in query.where):
                continue
            if not all(has_match(h, doc) for h in query.has):
                continue
            position = SortPosition(query.order, sort_values(query.order, doc), doc_id)
            if after is not None and not after < position:
                continue
            ranked.append((position, doc))
    if query.limit is None:
        ranked.sort(key=lambda pair: pair[0])
    else:  # a partial sort: only the page (and one more, to know if there is a next page)
        ranked = heapq.nsmallest(query.offset + query.limit + 1, ranked, key=lambda p: p[0])
    items, cursor = page_of(query, ranked)
    return Page([_shaped(query, schema, doc) for doc in items], cursor)


def has_match(criteria: ChildCriteria, doc: Mapping[str, Any]) -> bool:
    items = doc.get(criteria.child.key)
    if not isinstance(items, list):
        return False
    return any(
        isinstance(item, dict) and all(matches(c, item) for c in criteria.criteria)
        for item in items
    )


def _shaped(query: Query, schema: Schema, doc: Document) -> Any:
    if query.returning == "ids":
        return doc[schema.id_key]
    if query.returning == "documents":
        return doc
    return summary_of(schema, doc)
