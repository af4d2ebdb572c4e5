"""What a typed column holds for a document's value: the value itself when it survives the
column exactly, otherwise a stand-in (NULL, or a placeholder in a NOT NULL column) while the
value travels in the row's `extra` (`migrator.schemas.codec` says what `extra` holds). Shared by
the codec, the fast row encoder, schema revisions and the JSON side of search."""

from __future__ import annotations

import math
import sys
from typing import Any

from migrator.schemas.declaration import DocField
from migrator.schemas.jsontext import JsonEncodeError, dumps_compact

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
FLOAT_MAX = sys.float_info.max

#: `stored_value`'s answer for a value its column cannot hold exactly.
DOES_NOT_FIT = object()


def stored_value(f: DocField, value: Any) -> Any:
    """The value as its typed column stores it, or `DOES_NOT_FIT` when it would not survive."""
    if value is None:
        return None
    if f.kind == "str":
        return value if isinstance(value, str) and "\x00" not in value else DOES_NOT_FIT
    if f.kind == "int":
        fits = type(value) is int and INT64_MIN <= value <= INT64_MAX
        return value if fits else DOES_NOT_FIT
    if f.kind == "float":
        # SQLite stores a REAL -0.0 as 0.0: the sign would be lost, so -0.0 travels in `extra`.
        fits = type(value) is float and math.isfinite(value) and not is_negative_zero(value)
        return value if fits else DOES_NOT_FIT
    if f.kind == "bool":
        return value if type(value) is bool else DOES_NOT_FIT
    try:
        text = dumps_compact(value, strict=True)
    except JsonEncodeError:
        return DOES_NOT_FIT
    return text


def equal_float(f: DocField, value: Any) -> float | None:
    """The float a float column can show for a value it does not hold as is (an integer it
    holds exactly, 0.0 for -0.0), so SQL readers see the number; None otherwise."""
    if f.kind != "float":
        return None
    if type(value) is float:
        return 0.0 if is_negative_zero(value) else None
    if type(value) is int and -FLOAT_MAX <= value <= FLOAT_MAX and float(value) == value:
        return float(value)
    return None


def is_negative_zero(value: float) -> bool:
    return value == 0.0 and math.copysign(1.0, value) < 0


def column_holds(f: DocField, value: Any) -> Any:
    """What `f`'s typed column holds for `value`: the value, or its placeholder when the value
    travels in `extra` (what a SQL reader, or the full-text index, sees)."""
    stored = stored_value(f, value)
    return fill_value(f, value) if stored is DOES_NOT_FIT else stored


def fill_value(f: DocField, value: Any) -> Any:
    """What a NOT NULL column holds when the real value lives in `extra`."""
    if not f.required:
        return None
    if f.kind == "str":
        return value.replace("\x00", "") if isinstance(value, str) else ""
    if f.kind == "int":
        return max(INT64_MIN, min(INT64_MAX, value)) if type(value) is int else 0
    if f.kind == "float":
        # Clamped like ints: float() of an integer beyond a double's range raises OverflowError.
        return float(max(-FLOAT_MAX, min(FLOAT_MAX, value))) if type(value) in (int, float) else 0.0
    if f.kind == "bool":
        return False
    return "null"


def column_value(f: DocField, value: Any) -> tuple[bool, Any]:
    """Whether `value` survives `f`'s typed column exactly, and what the column then holds."""
    stored = stored_value(f, value)
    return (False, None) if stored is DOES_NOT_FIT else (True, stored)


def placeholder(f: DocField) -> Any:
    """What `f`'s typed column holds for a document that lacks the key."""
    return fill_value(f, None)
