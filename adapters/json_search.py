"""Full-text search over the JSON files: a scan that answers as SQLite's FTS5 index does.

Every searchable value is cut into tokens the way `unicode61` cuts them
(`migrator.adapters.search_query`)
and scored with FTS5's own bm25 (k1 = 1.2, b = 0.75; the same arithmetic in the same order, so
the scores are the same numbers): the row counts, average lengths and per-term document
frequencies are those of all values of that field in the store, as the index holds them (a
document's key that its SQL column cannot hold reads as the column does: `migrator.schemas.codec`).
The same documents come back in the same order as from SQLite; the snippets are made here and
differ in detail from FTS5's. What differs is documented in docs/search.md.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from migrator.adapters.search_query import TOKEN, SearchHit, SearchQuery, Term
from migrator.schemas.codec import column_holds
from migrator.schemas.declaration import Schema
from migrator.schemas.searchable import SearchField

_K1 = 1.2
_B = 0.75
#: Words of context on each side of the first match in a snippet.
_CONTEXT = 5


@dataclass
class _Value:
    """One searchable value that matched every term."""

    doc_id: str
    partition: str
    field: int
    position: int | None
    text: str
    tokens: list[str]
    counts: list[int]


@dataclass
class _FieldStats:
    rows: int = 0
    tokens: int = 0


def search_documents(
    schema: Schema,
    documents: Iterable[tuple[str, dict[str, Any]]],
    query: SearchQuery,
    limit: int,
) -> list[SearchHit]:
    """The `limit` best documents of (partition, document) pairs for `query`."""
    fields = schema.search_fields
    stats = [_FieldStats() for _ in fields]
    hits_per_term = [[0] * len(query.terms) for _ in fields]
    matched: list[_Value] = []
    for partition, doc in documents:
        doc_id = doc.get(schema.id_key)
        if not isinstance(doc_id, str):
            continue
        for index, field in enumerate(fields):
            for position, text in _values(field, doc):
                tokens = TOKEN.findall(text.lower()) if text else []
                stats[index].rows += 1
                stats[index].tokens += len(tokens)
                counts = [_count(term, tokens) for term in query.terms]
                for term_index, count in enumerate(counts):
                    if count:
                        hits_per_term[index][term_index] += 1
                if all(counts):
                    matched.append(
                        _Value(doc_id, partition, index, position, text or "", tokens, counts)
                    )
    best: dict[str, tuple[float, int, int, _Value]] = {}
    for value in matched:
        score = _bm25(value, stats[value.field], hits_per_term[value.field])
        key = (-score, value.field, value.position if value.position is not None else -1, value)
        current = best.get(value.doc_id)
        if current is None or key[:3] < current[:3]:
            best[value.doc_id] = key
    ranked = sorted(best.values(), key=lambda k: (k[0], k[3].doc_id))[:limit]
    return [
        SearchHit(
            doc_id=value.doc_id,
            partition=value.partition,
            score=-negative,
            field=fields[value.field].located(value.position),
            snippet=snippet(value.text, query),
        )
        for negative, _, _, value in ranked
    ]


def _values(field: SearchField, doc: dict[str, Any]) -> Iterator[tuple[int | None, str | None]]:
    """The field's values in `doc` as its SQL column holds them (None: no text), with their
    list positions."""
    if field.list_key is None:
        yield None, _column_text(field, doc)
        return
    items = doc.get(field.list_key)
    if not isinstance(items, list):
        return
    for position, item in enumerate(items):
        if isinstance(item, dict):
            yield position, _column_text(field, item)


def _column_text(field: SearchField, obj: dict[str, Any]) -> str | None:
    value = obj.get(field.key)
    stored = column_holds(field.doc_field, value) if isinstance(value, str) else None
    return stored if isinstance(stored, str) else None


def _count(term: Term, tokens: list[str]) -> int:
    """How many times `term` occurs in `tokens` (overlapping occurrences count, as in FTS5)."""
    first, size = term.tokens, len(term.tokens)
    if size == 1:
        if term.prefix:
            return sum(1 for token in tokens if token.startswith(first[0]))
        return tokens.count(first[0])
    head, last = first[:-1], first[-1]
    found = 0
    for start in range(len(tokens) - size + 1):
        if tuple(tokens[start : start + size - 1]) != head:
            continue
        token = tokens[start + size - 1]
        if token == last or (term.prefix and token.startswith(last)):
            found += 1
    return found


def _bm25(value: _Value, stats: _FieldStats, hits: list[int]) -> float:
    """FTS5's bm25 for one value, written as its C code computes it (sqlite/ext/fts5/fts5_aux.c)."""
    rows = stats.rows
    avgdl = float(stats.tokens) / float(rows)
    length = float(len(value.tokens))
    score = 0.0
    for count, n_hit in zip(value.counts, hits, strict=True):
        idf = math.log((rows - n_hit + 0.5) / (n_hit + 0.5))
        if idf <= 0.0:
            idf = 1e-6
        freq = float(count)
        score += idf * ((freq * (_K1 + 1.0)) / (freq + _K1 * (1 - _B + _B * length / avgdl)))
    return score


def snippet(text: str, query: SearchQuery) -> str:
    """A few words around the first value's first match, matched tokens in [brackets]."""
    spans = [(m.start(), m.end(), m.group().lower()) for m in TOKEN.finditer(text)]
    tokens = [token for _, _, token in spans]
    marked: set[int] = set()
    for term in query.terms:
        size = len(term.tokens)
        for start in range(len(tokens) - size + 1):
            window = tokens[start : start + size]
            head_ok = window[:-1] == list(term.tokens[:-1])
            last = window[-1]
            if head_ok and (
                last == term.tokens[-1] or (term.prefix and last.startswith(term.tokens[-1]))
            ):
                marked.update(range(start, start + size))
    if not marked:
        return text[:80]
    first = min(marked)
    low, high = max(0, first - _CONTEXT), min(len(spans), first + _CONTEXT + 1)
    parts = []
    cursor = spans[low][0]
    for index in range(low, high):
        begin, end, _ = spans[index]
        parts.append(text[cursor:begin])
        piece = text[begin:end]
        parts.append(f"[{piece}]" if index in marked else piece)
        cursor = end
    prefix = "…" if low > 0 else text[: spans[low][0]]
    suffix = "…" if high < len(spans) else text[cursor:]
    return prefix + "".join(parts) + suffix
