"""JSON text in and out, exactly: orjson for speed, the standard library where orjson would lose.

orjson reads an integer beyond 64 bits as a float and refuses to write one; documents may hold
such integers, so those few texts go through the standard library instead. Nothing here touches
files: the stores decide where the bytes go.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

# An integer literal orjson might read as a float (it keeps 64 bits) is a run of 19 or more
# digits; it may also be inside a string, which only costs the slower exact parser. Mapping every
# digit to "0" and searching for 19 of them is ~10x faster than a regular expression.
_DIGITS_TO_ZERO = bytes.maketrans(b"0123456789", b"0" * 10)
_LONG_DIGITS = b"0" * 19


class JsonDecodeError(ValueError):
    """Text that is not JSON; `line` and `column` are 1-based."""

    def __init__(self, reason: str, line: int, column: int) -> None:
        super().__init__(f"{reason} (line {line}, column {column})")
        self.reason = reason
        self.line = line
        self.column = column


class JsonEncodeError(ValueError):
    """A value that cannot be written as JSON."""


def loads(data: bytes | str) -> Any:
    """Parse JSON text, keeping integers of any size exact and refusing NaN and Infinity."""
    raw = data.encode() if isinstance(data, str) else data
    if _LONG_DIGITS in raw.translate(_DIGITS_TO_ZERO):
        return _loads_exact(raw)
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise JsonDecodeError(_reason(exc.msg), exc.lineno, exc.colno) from None


def _loads_exact(raw: bytes) -> Any:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - raw.rfind(b"\n", 0, exc.start)
        raise JsonDecodeError("not valid UTF-8", line, column) from None
    if text.startswith("\ufeff"):
        raise JsonDecodeError("starts with a byte order mark, which JSON does not allow", 1, 1)
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise JsonDecodeError(exc.msg, exc.lineno, exc.colno) from None
    except RecursionError:
        raise JsonDecodeError("nested too deeply", 1, 1) from None
    except ValueError as exc:  # int digits limit, NaN/Infinity
        raise JsonDecodeError(str(exc), 1, 1) from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _reason(message: str) -> str:
    return message.split(": line ")[0]


def dumps_compact(value: Any, *, strict: bool = False) -> str:
    """Compact JSON text. `strict` refuses what orjson cannot write instead of falling back."""
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError as exc:
        if strict:
            raise JsonEncodeError(str(exc)) from None
        return _stdlib_dumps(value, indent=None, sort_keys=False)


def dumps_sorted(value: Any) -> bytes:
    """Compact JSON bytes with sorted keys: equal documents give equal bytes."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:
        return _stdlib_dumps(value, indent=None, sort_keys=True).encode()


def dumps_pretty(value: Any) -> bytes:
    """The legacy application's format: 2-space indent, UTF-8, no ASCII escaping."""
    try:
        return orjson.dumps(value, option=orjson.OPT_INDENT_2)
    except orjson.JSONEncodeError:
        return _stdlib_dumps(value, indent=2, sort_keys=False).encode()


def _stdlib_dumps(value: Any, *, indent: int | None, sort_keys: bool) -> str:
    separators = (",", ": ") if indent else (",", ":")
    try:
        return json.dumps(
            value,
            ensure_ascii=False,
            allow_nan=False,
            indent=indent,
            sort_keys=sort_keys,
            separators=separators,
        )
    except (TypeError, ValueError) as exc:
        raise JsonEncodeError(str(exc)) from None
