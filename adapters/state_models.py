"""Typed models of the state directory's files, validated whenever one is read.

A state file is trusted by every process that opens the store, so a deviation (`shadow: [0.5]`,
a journal intent without `op`, `primary: "mongo"`, a time that is no timestamp) must stop the
reader with one clear `StateFileError` naming the file, the place and what is wrong, never a
traceback from deep inside and never a silently made-up default.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
)

from migrator.errors import StateFileError

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

PhaseName = Literal["json-only", "dual-write", "sqlite-primary", "sqlite-only"]
SideName = Literal["json", "sql"]


def _timestamp(text: str) -> str:
    datetime.fromisoformat(text)  # ValueError: pydantic reports it with its place
    return text


Stamp = Annotated[str, AfterValidator(_timestamp)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


# --------------------------------------------------------------------------- phase.json


class ShadowSettings(_Strict):
    rate: float = Field(default=0.0, ge=0.0, le=1.0)
    ignore_paths: list[str] = Field(default_factory=list)


class ValidationLine(_Strict):
    time: Stamp
    started: Stamp | None = None
    ok: bool
    sampled: bool = False
    counts: dict[str, int] = Field(default_factory=dict)


class MoveLine(_Strict):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=True)

    time: Stamp
    from_phase: PhaseName = Field(alias="from")
    to_phase: PhaseName = Field(alias="to")
    forced: bool = False
    warning: str | None = None


class PhaseFile(_Strict):
    """`phase.json`. Unknown top-level keys are kept (a newer tool's additions)."""

    model_config = ConfigDict(extra="allow", strict=True, frozen=True)

    version: Literal[1] = 1
    phase: PhaseName
    shadow: ShadowSettings = Field(default_factory=ShadowSettings)
    last_validation: ValidationLine | None = None
    history: list[MoveLine] = Field(default_factory=list)


# --------------------------------------------------------------------------- journal.jsonl


class IntentLine(_Strict):
    kind: Literal["intent"]
    entry: str
    op: Literal["put", "delete"]
    id: str
    partition: str
    primary: SideName
    revision: str | None
    time: Stamp


class FailedLine(_Strict):
    kind: Literal["failed", "failed_counted"]
    entry: str
    error: str = ""
    time: Stamp


class DoneLine(_Strict):
    kind: Literal["done"]
    entry: str
    by: str = "writer"
    time: Stamp


class SummaryLine(_Strict):
    kind: Literal["summary"]
    failures: int = Field(ge=0)
    last_failure: Stamp | None = None
    #: The file's size when this compaction wrote it (the next one waits for twice as much).
    size: int | None = Field(default=None, ge=0)


JournalLine = Annotated[
    IntentLine | FailedLine | DoneLine | SummaryLine, Field(discriminator="kind")
]
JOURNAL_LINE: TypeAdapter[IntentLine | FailedLine | DoneLine | SummaryLine] = TypeAdapter(
    JournalLine
)


# --------------------------------------------------------------------------- history.jsonl


class HistoryLine(BaseModel):
    """One run of `history.jsonl`; lines of a newer tool may carry more keys."""

    model_config = ConfigDict(extra="ignore", strict=True, frozen=True)

    command: str
    started_at: Stamp
    ended_at: Stamp | None = None
    outcome: Literal["ok", "differences", "rejected", "error", "declined", "interrupted"] | None
    message: str | None = None
    counts: dict[str, int] = Field(default_factory=dict)
    phase_before: str | None = None
    phase_after: str | None = None
    pid: int = 0
    tool_version: str = ""


# --------------------------------------------------------------------------- incidents.json

COUNTERS: TypeAdapter[dict[str, int]] = TypeAdapter(dict[str, Annotated[int, Field(ge=0)]])


# --------------------------------------------------------------------------- parsing

M = TypeVar("M")


def parse(adapter: TypeAdapter[M], data: bytes | str, path: Path, *, line: int | None = None) -> M:
    """`data` (JSON) as the model `adapter` describes, or one `StateFileError`."""
    try:
        return adapter.validate_json(data)
    except ValidationError as exc:
        raise StateFileError(path, _describe(exc, line)) from None


def parse_model(model: type[BaseModel], data: bytes | str, path: Path) -> Any:
    try:
        return model.model_validate_json(data)
    except ValidationError as exc:
        raise StateFileError(path, _describe(exc, None)) from None


def _describe(exc: ValidationError, line: int | None) -> str:
    """The first problem, in one line: where (line, key path) and what."""
    error = exc.errors(include_url=False)[0]
    place = ".".join(str(part) for part in error["loc"])
    where = f"line {line}: " if line is not None else ""
    what = error["msg"]
    if error["type"] == "json_invalid":
        return f"{where}not valid JSON ({error.get('ctx', {}).get('error', what)})"
    if error["type"] == "missing":
        return f"{where}{place} is missing"
    value = error.get("input")
    shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
    return f"{where}{place or 'the value'} = {shown}: {what}"


R = TypeVar("R", bound="DataclassInstance")


def record_of(cls: type[R], line: BaseModel, **changed: Any) -> R:
    """The in-memory record `cls` (a dataclass) of a validated file line: each field taken
    from the line's field of the same name, but those given in `changed` (a renamed field, a
    converted value); a field the line lacks keeps its default."""
    on_line = type(line).model_fields
    taken = {
        f.name: getattr(line, f.name)
        for f in fields(cls)
        if f.name in on_line and f.name not in changed
    }
    return cls(**taken, **changed)
