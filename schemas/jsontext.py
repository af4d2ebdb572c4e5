"""JSON text in and out, exactly: orjson for speed, the standard library where orjson would lose.

orjson reads an integer beyond 64 bits as a float and refuses to write one; documents may hold
such integers, so those few texts go through the standard library instead. Nothing here touches
files: the stores decide where the bytes go.

A key that appears twice in one object is refused: every JSON reader (orjson, Python's `json`,
the legacy application) silently keeps the last value, so reading it would lose the first.
Finding one costs a re-encoding in the stores' own format (orjson, 2-space indent): a text equal
to it byte for byte is that of a value with unique keys and exact numbers, known with one
comparison. Any other text is checked by counting: without repeated keys (and without
`\\u003a` escapes) it holds exactly as many colons as the re-encoding, so only a text that fails
that count is parsed again, slowly, to find the key.
"""

from __future__ import annotations

import json
import math
import re
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


def loads(data: bytes | str, *, ours: bool = False) -> Any:
    """Parse JSON text, keeping integers of any size exact and refusing NaN and Infinity and
    keys repeated in one object. `ours`: text this toolkit wrote from a dict (an `extra`
    column), which cannot repeat a key, so the check for one is skipped."""
    return _load(data, ours=ours)[0]


def loads_written(text: str) -> Any:
    """`loads(text, ours=True)` for a JSON column's text, which this toolkit wrote from a
    document's value: the call a listing makes per row, so text too short to hold an integer
    orjson would read as a float is one orjson call."""
    if len(text) < len(_LONG_DIGITS):
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass  # named below, with its place
    return _orjson_or_exact(text.encode())


def loads_checked(data: bytes | str) -> tuple[Any, bool]:
    """`loads`, and whether orjson wrote the value back while checking for repeated keys: then
    it certainly holds only text keys, no lone surrogate and at most 254 levels (what
    `migrator.schemas.row_encoder` needs vouched for), known without writing it again."""
    return _load(data, ours=False)


def _load(data: bytes | str, *, ours: bool) -> tuple[Any, bool]:
    raw = data.encode() if isinstance(data, str) else data
    if ours:
        return _orjson_or_exact(raw), False
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return _orjson_or_exact(raw), False  # names the fault, or parses long integers exactly
    try:
        written = orjson.dumps(value, option=orjson.OPT_INDENT_2)
    except orjson.JSONEncodeError:  # nested deeper than orjson writes: the slow way
        return _loads_exact(raw), False
    if written == raw:  # the stores' own format: every key unique, every number exact
        return value, True
    if _LONG_DIGITS in raw.translate(_DIGITS_TO_ZERO):
        return _loads_exact(raw), False  # which refuses a repeated key too
    if _may_repeat_keys(raw, written):
        _loads_exact(raw)  # raises, naming the repeated key, unless the count misled
    return value, True


def _orjson_or_exact(raw: bytes) -> Any:
    """orjson's value of `raw`, or the exact parser's when an integer may exceed 64 bits."""
    if _LONG_DIGITS in raw.translate(_DIGITS_TO_ZERO):
        return _loads_exact(raw)
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        if "UTF-8" in exc.msg and not raw.startswith(b"\xef\xbb\xbf"):
            _check_utf8(raw)  # orjson names no place for bad bytes: find it
        reason = _constant_at(raw, exc.lineno, exc.colno) or _reason(exc.msg)
        raise JsonDecodeError(reason, exc.lineno, exc.colno) from None


def _may_repeat_keys(raw: bytes, written: bytes) -> bool:
    """False when `raw` certainly repeats no key: its colons are exactly those of its value
    as orjson `written` it, one per member plus those inside strings, which orjson never
    escapes."""
    colons = raw.count(b":")
    if b"\\u003a" in raw or b"\\u003A" in raw:
        return True  # an escaped colon is in the value but not in the text's count
    return written.count(b":") != colons


def _loads_exact(raw: bytes) -> Any:
    text = _check_utf8(raw)
    if text.startswith("\ufeff"):
        raise JsonDecodeError("starts with a byte order mark, which JSON does not allow", 1, 1)
    try:
        return json.loads(
            text,
            parse_constant=_refuse_constant,
            parse_float=_finite_float,
            object_pairs_hook=_unique_keys,
        )
    except json.JSONDecodeError as exc:
        raise JsonDecodeError(exc.msg, exc.lineno, exc.colno) from None
    except RecursionError:
        raise JsonDecodeError("nested too deeply", 1, 1) from None
    except _RepeatedKey as exc:
        line, column, record = _key_position(text, exc.key)
        where = f" of record {record}" if record is not None else ""
        reason = (
            f"key {exc.key!r} appears twice in one object{where} (a reader keeps only the last)"
        )
        raise JsonDecodeError(reason, line, column) from None
    except ValueError as exc:  # int digits limit, NaN/Infinity
        raise JsonDecodeError(_one_line(str(exc)), 1, 1) from None


def _check_utf8(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - raw.rfind(b"\n", 0, exc.start)
        raise JsonDecodeError("not valid UTF-8", line, column) from None


def _constant_at(raw: bytes, line: int, column: int) -> str | None:
    """Name NaN or Infinity when that is what stopped orjson (which only says where)."""
    text = raw.split(b"\n", line)[line - 1] if line >= 1 else b""
    for start in (column - 2, column - 1):
        for name in (b"NaN", b"Infinity", b"-Infinity"):
            if start >= 0 and text.startswith(name, start):
                return f"{name.decode()} is not a JSON number"
    return None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):  # what orjson says of 1e400
        raise ValueError(f"number {text[:40]} is infinity when parsed as double")
    return value


class _RepeatedKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _RepeatedKey(key)
            seen.add(key)
    return obj


_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[{}\[\]:,]')


def _key_position(text: str, key: str) -> tuple[int, int, int | None]:
    """Line and column (1-based) of the first repeat of `key` inside one object, and the index
    of the record holding it when the text is an array (None otherwise): a scan of the text,
    run only once a repeat is known to exist."""
    objects: list[set[str] | None] = []  # None for an array
    last_string: re.Match[str] | None = None
    record = 0
    for token in _TOKEN.finditer(text):
        kind = token.group()
        if kind in "{[":
            objects.append(set() if kind == "{" else None)
        elif kind in "}]":
            if objects:
                objects.pop()
        elif kind == "," and objects == [None]:
            record += 1
        elif kind == ":" and last_string is not None and objects and objects[-1] is not None:
            name = json.loads(last_string.group())
            if name == key and name in objects[-1]:
                start = last_string.start()
                line, column = text.count("\n", 0, start) + 1, start - text.rfind("\n", 0, start)
                return line, column, record if objects[0] is None else None
            objects[-1].add(name)
        last_string = token if kind.startswith('"') else None
    return 1, 1, None


def _one_line(message: str) -> str:
    """Python's own wording, without its advice to call a Python function."""
    return message.split("; use sys.set_int_max_str_digits")[0]


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
    except RecursionError:
        raise JsonEncodeError("nested too deeply to write") from None
