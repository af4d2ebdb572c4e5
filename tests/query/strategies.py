"""Random stores and random queries over the second schema (every kind of column)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from migrator.schemas.declaration import DocField, Schema
from tests.schemas.strategies import documents, floats, integers, texts

_COMPARE = ("eq", "ne", "in", "lt", "lte", "gt", "gte")


def _value(f: DocField, seen: list[Any]) -> st.SearchStrategy[Any]:
    """A value of the field's kind: often one the documents hold, so criteria hit."""
    own = {
        "str": texts(6),
        "int": integers() | floats(),
        "float": floats() | integers(),
        "bool": st.booleans(),
    }[f.kind]
    usable = [v for v in seen if v is not None and _fits(f, v)]
    return st.sampled_from(usable) | own if usable else own


def _fits(f: DocField, value: Any) -> bool:
    if f.kind == "str":
        return isinstance(value, str)
    if f.kind == "bool":
        return isinstance(value, bool)
    return type(value) in (int, float)


def _ops(f: DocField) -> tuple[str, ...]:
    if f.kind == "json":
        return ("null", "absent")
    if f.kind == "bool":
        return ("eq", "ne", "in", "null", "absent")
    extra = ("prefix",) if f.kind == "str" else ()
    return (*_COMPARE, *extra, "null", "absent")


@st.composite
def criteria(
    draw: st.DrawFn, fields: tuple[DocField, ...], objects: list[dict[str, Any]]
) -> dict[str, Any]:
    where: dict[str, Any] = {}
    for f in draw(st.lists(st.sampled_from(fields), max_size=2, unique_by=lambda f: f.key)):
        op = draw(st.sampled_from(_ops(f)))
        seen = [o[f.key] for o in objects if f.key in o]
        if op in ("null", "absent"):
            value: Any = draw(st.booleans())
        elif op == "in":
            value = draw(st.lists(_value(f, seen), max_size=3))
        else:
            value = draw(_value(f, seen))
        where[f"{f.key}__{op}"] = value
    return where


@st.composite
def stores_and_queries(
    draw: st.DrawFn, schema: Schema
) -> tuple[dict[str, list[Any]], dict[str, Any]]:
    """Partitions of documents (ids unique) and a query over them."""
    ids = draw(st.lists(texts(5, nul=False).filter(bool), max_size=7, unique=True))
    docs = [draw(documents(schema, doc_id=doc_id)) for doc_id in ids]
    partitions: dict[str, list[Any]] = {}
    for doc in docs:
        partitions.setdefault(draw(st.sampled_from(["p1", "p2"])), []).append(doc)
    root = schema.root_mapping.fields
    query: dict[str, Any] = {"where": draw(criteria(root, docs))}
    if draw(st.booleans()):
        child, mapping = draw(
            st.sampled_from(list(zip(schema.children, schema.child_mappings, strict=True)))
        )
        items = [item for doc in docs for item in doc.get(child.key, []) or []]
        query["has"] = {child.key: draw(criteria(mapping.fields, items))}
    sortable = [f for f in root if f.kind != "json"]
    order = draw(st.lists(st.sampled_from(sortable), max_size=2, unique_by=lambda f: f.key))
    query["order"] = [("-" if draw(st.booleans()) else "") + f.key for f in order]
    query["limit"] = draw(st.none() | st.integers(0, 4))
    query["offset"] = draw(st.integers(0, 2))
    query["partition"] = draw(st.none() | st.sampled_from(["p1", "p2"]))
    return partitions, query
