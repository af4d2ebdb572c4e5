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

from migrator.check import CheckResult
from migrator.errors import MigratorError, require_json_dir
from migrator.run_protocol import Notice, log_notice, verb_run
from migrator.schemas.declaration import Schema
from migrator.schemas.registry import resolve
from migrator.validator import ValidationReport


def validate(
    json_dir: Path | str,
    db: str | Path,
    schema: str | Schema = "sessions",
    *,
    ignore_paths: Sequence[str] = (),
    partitions: Sequence[str] | None = None,
    sample: int | None = None,
    max_details: int | None = None,
    seed: int | None = None,
    min_age: float | None = None,
    recheck: bool = False,
    recheck_delay: float = 1.0,
    progress: Callable[[int, int], None] | None = None,
    notice: Notice = log_notice,
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
            report = compare(
                JsonStore(root, resolved),
                sql_store,
                ignore_paths=ignore_paths,
                partitions=partitions,
                sample=sample,
                max_details=max_details,
                seed=seed,
                min_age=min_age,
                recheck=recheck,
                recheck_delay=recheck_delay,
                progress=progress,
            )
            run.record.outcome = "ok" if report.ok else "differences"
            run.record.counts = dict(report.counts)
    finally:
        sql_store.close()
    try:  # what the phase guards read; never a reason to fail the validation itself
        record_validation(root, report, started=started, partial=bool(partitions))
    except MigratorError as exc:
        notice(f"warning: validation not recorded in the phase state: {exc}")
    return report


def check(
    json_dir: Path | str,
    db: str | Path,
    schema: str | Schema = "sessions",
    *,
    ignore_paths: Sequence[str] | None = None,
    min_age: float | None = None,
    recheck: bool = False,
    recheck_delay: float = 1.0,
    max_details: int | None = None,
) -> CheckResult:
    """May the stores move to the next phase? The checklist of `migrator.check.check` (whose
    full validation is recorded as `validate` records it), recorded in the history."""
    from migrator.check import check as checklist

    with verb_run("check", Path(json_dir)) as run:
        result = checklist(
            json_dir,
            db,
            schema,
            ignore_paths=ignore_paths,
            min_age=min_age,
            recheck=recheck,
            recheck_delay=recheck_delay,
            max_details=max_details,
        )
        run.record.outcome = "ok" if result.ready else "differences"
        run.record.counts = {"items": len(result.items), "failed": len(result.failed)}
    return result
