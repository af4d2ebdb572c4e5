"""`validate` and `check` on paths, under the run protocol: the verbs `migrator validate`,
`migrator check`, `migrator.validate` and `migrator.check` call.

Both record their run in the history, and both record the validation in the phase state (what
the `sqlite-primary` guard reads): a full, clean one lets the move pass; a partial or sampled
one is recorded as such and cannot. Neither takes a lock of its own: recording the validation
takes the phase lock, and failing to record it is a notice, never a failed validation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TypedDict, Unpack

from migrator.checklist import CheckResult
from migrator.errors import MigratorError, require_json_dir
from migrator.run_protocol import Notice, log_notice, verb_run
from migrator.schemas.declaration import Schema
from migrator.schemas.registry import resolve
from migrator.validator import ValidationReport


class ValidateOptions(TypedDict, total=False):
    """`migrator.validator.validate`'s options, documented there."""

    ignore_paths: Sequence[str] | None
    partitions: Sequence[str] | None
    sample: int | None
    max_details: int | None
    seed: int | None
    min_age: float | None
    recheck: bool
    recheck_delay: float
    progress: Callable[[int, int], None] | None


class CheckOptions(TypedDict, total=False):
    """`migrator.checklist.check`'s options, documented there."""

    ignore_paths: Sequence[str] | None
    min_age: float | None
    recheck: bool
    recheck_delay: float
    max_details: int | None


def validate(
    json_dir: Path | str,
    db: str | Path,
    schema: str | Schema = "sessions",
    *,
    notice: Notice = log_notice,
    **options: Unpack[ValidateOptions],
) -> ValidationReport:
    """Compare the JSON store with the database, read-only (the options:
    `migrator.validator.validate`), and record the outcome for the phase guards."""
    from migrator.adapters.json_store import JsonStore
    from migrator.adapters.sql_store import SqlStore
    from migrator.phase_guards import record_validation
    from migrator.validator import validate as compare

    root = Path(json_dir)
    require_json_dir(root)
    resolved = resolve(schema)
    sql_store = SqlStore(db, resolved, create=False)
    try:
        started = datetime.now(UTC)
        with verb_run("validate", root) as run:
            report = compare(JsonStore(root, resolved), sql_store, **options)
            run.record.outcome = "ok" if report.ok else "differences"
            run.record.counts = dict(report.counts)
    finally:
        sql_store.close()
    try:  # what the phase guards read; never a reason to fail the validation itself
        record_validation(root, report, started=started, partial=bool(options.get("partitions")))
    except MigratorError as exc:
        notice(f"warning: validation not recorded in the phase state: {exc}")
    return report


def check(
    json_dir: Path | str,
    db: str | Path,
    schema: str | Schema = "sessions",
    **options: Unpack[CheckOptions],
) -> CheckResult:
    """May the stores move to the next phase? The checklist of `migrator.checklist.check` (whose
    full validation is recorded as `validate` records it), recorded in the history."""
    from migrator.checklist import check as checklist

    with verb_run("check", Path(json_dir)) as run:
        result = checklist(json_dir, db, schema, **options)
        run.record.outcome = "ok" if result.ready else "differences"
        run.record.counts = {"items": len(result.items), "failed": len(result.failed)}
    return result
