"""A page of `find` answers as a table (80 columns), one JSON object, or JSON lines."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from migrator.adapters.query import Page
from migrator.schemas.jsontext import dumps_compact

WIDTH = 80


def render_page(page: Page, output_format: str, columns: Sequence[str]) -> str:
    """The page in `output_format` (table, json or jsonl); text ends with a newline."""
    if output_format == "json":
        return dumps_compact({"items": page.items, "cursor": page.cursor}) + "\n"
    if output_format == "jsonl":
        return "".join(dumps_compact(item) + "\n" for item in page.items)
    return _table(page.items, columns)


def _table(items: Sequence[Any], columns: Sequence[str]) -> str:
    if not items:
        return "(no match)\n"
    rows = [
        [_cell(item.get(c, "") if isinstance(item, dict) else item) for c in columns]
        for item in items
    ]
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(columns)]
    # Narrow the widest columns (the id, first, last) until the table fits the width.
    while sum(widths) + 2 * (len(widths) - 1) > WIDTH:
        widest = max(range(1, len(widths)), key=lambda i: widths[i], default=0)
        if widths[widest] <= 8:
            break
        widths[widest] -= 1
    lines = [_line(columns, widths), _line(["-" * w for w in widths], widths)]
    lines += [_line(row, widths) for row in rows]
    return "\n".join(lines) + "\n"


def _cell(value: Any) -> str:
    text = value if isinstance(value, str) else dumps_compact(value)
    return " ".join(text.split())  # one line per row, whatever the text holds


def _line(cells: Sequence[str], widths: Sequence[int]) -> str:
    shown = [c if len(c) <= w else c[: w - 1] + "…" for c, w in zip(cells, widths, strict=True)]
    return "  ".join(s.ljust(w) for s, w in zip(shown, widths, strict=True)).rstrip()


def default_columns(
    id_key: str, named: Sequence[str], fields: Sequence[str], returning: str
) -> list[str]:
    """id, the keys the query names, then the schema's first fields, up to five columns."""
    if returning == "ids":
        return [id_key]
    columns = list(dict.fromkeys([id_key, *named]))
    for key in fields:
        if len(columns) >= 5:
            break
        if key not in columns:
            columns.append(key)
    return columns
