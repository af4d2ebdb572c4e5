"""Moving a key between `extra` and a column or a child table keeps every document exact:
the rows one declaration wrote, relaid out, read back under the next declaration as the same
document, key order included (`migrator.schemas.relayout`, what `moves` applies to each row)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel import Field

from migrator.schemas import relayout
from migrator.schemas.codec import (
    DocumentRows,
    column_value,
    decode_item,
    encode_item,
    from_rows,
    to_rows,
    usual_order,
    validate,
    value_of_column,
)
from migrator.schemas.declaration import ChildList, DocField, DocumentRow, Schema
from tests.schemas.strategies import json_values, texts
from tests.soak import examples


class ItemV1(DocumentRow, table=True):
    __tablename__ = "rl1_items"
    id: str = Field(primary_key=True)
    folder: str
    title: str | None = None
    color: str | None = None


class TagV1(DocumentRow, table=True):
    __tablename__ = "rl1_tags"
    id: int | None = Field(default=None, primary_key=True)
    item_id: str = Field(foreign_key="rl1_items.id")
    label: str


class ItemV2(DocumentRow, table=True):
    __tablename__ = "rl2_items"
    id: str = Field(primary_key=True)
    folder: str
    title: str | None = None
    stars: int | None = None
    color: str | None = None


class TagV2(DocumentRow, table=True):
    __tablename__ = "rl2_tags"
    id: int | None = Field(default=None, primary_key=True)
    item_id: str = Field(foreign_key="rl2_items.id")
    label: str


class ItemV3(DocumentRow, table=True):
    __tablename__ = "rl3_items"
    id: str = Field(primary_key=True)
    folder: str
    title: str | None = None
    stars: int | None = None


class TagV3(DocumentRow, table=True):
    __tablename__ = "rl3_tags"
    id: int | None = Field(default=None, primary_key=True)
    item_id: str = Field(foreign_key="rl3_items.id")
    label: str


class LinkV3(DocumentRow, table=True):
    __tablename__ = "rl3_links"
    id: int | None = Field(default=None, primary_key=True)
    item_id: str = Field(foreign_key="rl3_items.id")
    url: str
    rank: int | None = None


def _schema(version: int, root: Any, tag: Any, link: Any = None) -> Schema:
    children = [ChildList(key="tags", model=tag, parent_column="item_id", surrogate_key="id")]
    if link is not None:
        children.append(
            ChildList(key="links", model=link, parent_column="item_id", surrogate_key="id")
        )
    return Schema(
        name="items",
        version=version,
        root=root,
        partition_column="folder",
        children=tuple(children),
    )


V1 = _schema(1, ItemV1, TagV1)
V2 = _schema(2, ItemV2, TagV2)
V3 = _schema(3, ItemV3, TagV3, LinkV3)
STARS = DocField(key="stars", column="stars", kind="int", required=False)
ABSENT = object()


@st.composite
def documents(draw: st.DrawFn, *, links_valid: bool, stars: st.SearchStrategy[Any]) -> dict:
    """A document with some of the keys every version knows of, in any order."""
    link = st.fixed_dictionaries(
        {"url": texts(nul=False)}, optional={"rank": st.none() | st.integers(-5, 5)}
    )
    candidates: dict[str, st.SearchStrategy[Any]] = {
        "title": st.none() | texts(),
        "color": st.none() | texts(),
        "stars": stars,
        "tags": st.lists(st.fixed_dictionaries({"label": texts(nul=False)}), max_size=2),
        "links": st.lists(link, max_size=3) if links_valid else json_values(4),
        "zz": json_values(4),
    }
    chosen = draw(st.lists(st.sampled_from(sorted(candidates)), unique=True))
    doc: dict[str, Any] = {"id": draw(texts(nul=False).filter(bool))}
    for key in chosen:
        doc[key] = draw(candidates[key])
    items = list(doc.items())
    order = draw(st.permutations(range(len(items))))
    return dict(items[i] for i in order)


def _read(schema: Schema, root: dict[str, Any], children: dict[str, list[dict]]) -> dict:
    return from_rows(schema, root, children)


def _exact(got: dict[str, Any], doc: dict[str, Any]) -> None:
    assert got == doc
    assert list(got) == list(doc)


def _as_imported(extra: str | None, imported: str | None) -> None:
    """The relaid-out `extra` says what a fresh import under the new declaration writes (the
    order of `absent` and of `keys` aside, which reading ignores)."""

    def norm(text: str | None) -> dict[str, Any]:
        found = relayout.read_extra(text)
        return {**found, "absent": sorted(found.get("absent", []))}

    assert norm(extra) == norm(imported)


def _tags(rows: DocumentRows, table: str) -> dict[str, list[dict]]:
    return {table: next(iter(rows.children.values()))}


@settings(max_examples=examples(300), deadline=None)
@given(documents(links_valid=False, stars=json_values(4)))
def test_promote_reads_back_every_v1_document_exactly(doc: dict[str, Any]) -> None:
    """A key held in `extra` becomes a column: values that fit leave `extra`, the others stay,
    documents without it get it recorded absent; each document reads back unchanged."""
    validate(V1, doc)
    rows = to_rows(V1, "f", doc)
    extra, stored = relayout.promote(
        relayout.read_extra(rows.root["extra"]), STARS, usual_order(V1), usual_order(V2)
    )
    root = {**rows.root, "extra": extra, "stars": stored}
    _exact(_read(V2, root, _tags(rows, "rl2_tags")), doc)
    fresh = to_rows(V2, "f", doc).root
    _as_imported(extra, fresh["extra"])
    assert stored == fresh["stars"]
    fits, _ = column_value(STARS, doc["stars"]) if "stars" in doc else (False, None)
    assert (stored is not None) == (fits and doc["stars"] is not None)


@settings(max_examples=examples(300), deadline=None)
@given(documents(links_valid=False, stars=st.none() | st.integers() | st.integers(-(2**70), 2**70)))
def test_demote_reads_back_every_v2_document_exactly(doc: dict[str, Any]) -> None:
    """A column dropped: its values move into `extra`; each document reads back unchanged."""
    validate(V2, doc)
    rows = to_rows(V2, "f", doc)
    value = value_of_column(STARS, rows.root["stars"])
    extra = relayout.demote(
        relayout.read_extra(rows.root["extra"]), "stars", value, usual_order(V2), usual_order(V1)
    )
    root = {k: v for k, v in rows.root.items() if k != "stars"} | {"extra": extra}
    _exact(_read(V1, root, _tags(rows, "rl1_tags")), doc)
    _as_imported(extra, to_rows(V1, "f", doc).root["extra"])


@settings(max_examples=examples(300), deadline=None)
@given(documents(links_valid=True, stars=st.none() | st.integers(-9, 9)))
def test_v2_to_v3_and_back_keeps_documents_exact(doc: dict[str, Any]) -> None:
    """v2 -> v3 drops `color` into `extra` and splits `links` out of it into rows; v3 -> v2
    merges them back and promotes `color` again: exact both ways, as autogenerate chains them."""
    validate(V2, doc)
    rows = to_rows(V2, "f", doc)
    u2, u3 = list(usual_order(V2)), list(usual_order(V3))
    middle = [k for k in u2 if k != "color"]
    extra = relayout.read_extra(rows.root["extra"])
    demoted = relayout.demote(extra, "color", rows.root["color"], u2, middle)
    split_extra, items = relayout.split(relayout.read_extra(demoted), "links", middle, u3)
    link_mapping = V3.child_mappings[1]
    link_rows = [encode_item(link_mapping, item, i) for i, item in enumerate(items or [])]
    root3 = {k: v for k, v in rows.root.items() if k != "color"} | {"extra": split_extra}
    children = _tags(rows, "rl3_tags") | {"rl3_links": link_rows}
    _exact(_read(V3, root3, children), doc)
    fresh = to_rows(V3, "f", doc)
    _as_imported(split_extra, fresh.root["extra"])
    assert [r["extra"] for r in link_rows] == [r["extra"] for r in fresh.children["rl3_links"]]
    # And back down.
    decoded = [decode_item(link_mapping, row) for row in link_rows]
    merged = relayout.merge(relayout.read_extra(split_extra), "links", decoded, u3, middle)
    color_field = DocField(key="color", column="color", kind="str", required=False)
    back, color = relayout.promote(relayout.read_extra(merged), color_field, middle, u2)
    root2 = {**root3, "extra": back, "color": color}
    _exact(_read(V2, root2, _tags(rows, "rl2_tags")), doc)
    _as_imported(back, rows.root["extra"])
