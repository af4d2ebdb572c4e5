"""`check`: one answer to "may we move to the next phase?", as a checklist.

It runs what a careful operator runs before `migrator phase set <next>`: `doctor`
(`migrator.doctor.diagnose`), a full validation, and the guards `phase set` applies to the
next phase (`migrator.phases.check_move`: the guards themselves, not a copy). Each becomes an
item that passed or failed, with what to run to fix it; ready when every item passed, so a
`phase set` right after a ready check passes the same guards.

The validation is recorded in the phase state, as `migrator validate` records it, so the guards
judge this very run; nothing else is written, and no database or table is created. In
`json-only` nothing is validated: the documented flow imports after the move to `dual-write`,
whose guard only needs a database that can be created or used. In `sqlite-only`, the last
phase, only the doctor's item is judged (the JSON store is archived: nothing to compare).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from migrator import hints
from migrator.adapters.json_store import JsonStore
from migrator.adapters.phase_state import Phase, now
from migrator.adapters.sql_store import SqlStore
from migrator.doctor import DoctorReport, diagnose
from migrator.errors import MigratorError, UsageError, require_json_dir
from migrator.phase_guards import Guard, catch_up_commands, record_validation
from migrator.phases import check_move, read_phase
from migrator.schemas.comparison import compile_ignore_paths
from migrator.schemas.declaration import Schema
from migrator.schemas.registry import resolve
from migrator.validator import FINDINGS, ValidationReport, check_options, validate

__all__ = ["CheckItem", "CheckResult", "check"]

logger = logging.getLogger(__name__)


#: One line of the checklist has the shape of a phase guard: whether it passed, what was
#: found, and what to run.
CheckItem = Guard


@dataclass(frozen=True)
class CheckResult:
    """The checklist for moving from `phase` to `next_phase` (None: `phase` is the last)."""

    schema: str
    phase: Phase
    next_phase: Phase | None
    items: tuple[CheckItem, ...]
    doctor: DoctorReport
    validation: ValidationReport | None = None

    @property
    def ready(self) -> bool:
        return all(item.passed for item in self.items)

    @property
    def failed(self) -> list[CheckItem]:
        return [item for item in self.items if not item.passed]

    def to_dict(self) -> dict[str, Any]:
        """The JSON summary, a contract scripts rely on (keys are only ever added)."""
        return {
            "ready": self.ready,
            "schema": self.schema,
            "phase": self.phase.value,
            "next_phase": None if self.next_phase is None else self.next_phase.value,
            "items": [item.to_dict() for item in self.items],
            "doctor": {
                "healthy": self.doctor.healthy,
                "checks": [
                    {"name": c.name, "status": c.status, "detail": c.detail}
                    for c in self.doctor.checks
                ],
            },
            "validation": None if self.validation is None else self.validation.to_dict(),
        }


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
    """The checklist of moving the stores at `json_dir` and `db` to their next phase.

    `ignore_paths` default to those recorded for the phase (`migrator phase configure`), as a
    phase move's own validation uses; `min_age`, `recheck`, `recheck_delay` and `max_details`
    are `validate`'s. A `UsageError` is raised; any other failure is a failed item."""
    schema = resolve(schema)
    root = Path(json_dir)
    require_json_dir(root)
    record = read_phase(root, db)
    target = next_phase(record.phase)
    doctor = diagnose(root, db, schema)
    items = [_doctor_item(doctor, root, db, schema)]
    if target is None:
        last = CheckItem("next phase", True, f"{record.phase} is the last phase: nothing to enter")
        return CheckResult(schema.name, record.phase, None, (*items, last), doctor)
    options: dict[str, Any] = {
        "ignore_paths": record.ignore_paths if ignore_paths is None else tuple(ignore_paths),
        "min_age": min_age,
        "recheck": recheck,
        "recheck_delay": recheck_delay,
        "max_details": max_details,
    }
    # A bad option is refused in every phase, json-only included (which validates nothing).
    compile_ignore_paths(options["ignore_paths"])
    check_options(schema, max_details, min_age, recheck_delay)
    if record.phase is Phase.JSON_ONLY:
        validation = None
        item = CheckItem(
            "validation",
            True,
            "not yet: the import runs after the move to dual-write, then validate",
        )
    else:
        validation, item = _validation(root, db, schema, record.phase, options)
    items.append(item)
    items += _guard_items(root, db, schema, target)
    return CheckResult(schema.name, record.phase, target, tuple(items), doctor, validation)


def next_phase(phase: Phase) -> Phase | None:
    """The phase after `phase`, or None for the last."""
    phases = list(Phase)
    return phases[phase.rank + 1] if phase.rank + 1 < len(phases) else None


def _doctor_item(report: DoctorReport, root: Path, db: str | Path, schema: Schema) -> CheckItem:
    if report.healthy:
        return CheckItem("doctor", True, f"{len(report.checks)} checks, no problem")
    details = "; ".join(f"{c.name}: {c.detail}" for c in report.problems)
    stores = hints.Stores(root, db, schema)
    fixes = {
        "pending repairs": stores.command("repair"),
        "database": stores.command("import"),
    }
    details_cmd = stores.command("doctor")
    fix = "; ".join(dict.fromkeys(fixes.get(c.name, details_cmd) for c in report.problems))
    return CheckItem("doctor", False, details, fix)


def _validation(
    root: Path, db: str | Path, schema: Schema, phase: Phase, options: dict[str, Any]
) -> tuple[ValidationReport | None, CheckItem]:
    """Validate the whole store and record the outcome for the guards."""
    stores = hints.Stores(root, db, schema)
    importing = stores.command("import")
    try:
        sql = SqlStore(db, schema, create=False)
    except UsageError:
        raise
    except MigratorError as exc:
        return None, CheckItem("validation", False, f"cannot validate: {exc}", importing)
    try:
        started = now()
        report = validate(JsonStore(root, schema), sql, **options)
    except UsageError:
        raise
    except MigratorError as exc:
        return None, CheckItem("validation", False, f"cannot validate: {exc}", importing)
    finally:
        sql.close()
    try:
        record_validation(root, report, started=started)
    except MigratorError as exc:  # the guards then judge an older record, and say so
        logger.warning("validation not recorded in the phase state: %s", exc)
    counts = report.counts
    if report.ok:
        detail = f"clean: {counts['matched']:,} documents match"
        if counts["in_flight"]:
            detail += f", {counts['in_flight']:,} in flight (left out)"
        if report.future_versions:
            detail += f", {len(report.future_versions)} versioned in the future (clock skew?)"
        return report, CheckItem("validation", True, detail)
    found = ", ".join(f"{key} {counts[key]}" for key in FINDINGS if counts[key])
    listing = stores.command("validate")
    if phase is Phase.JSON_ONLY:  # nothing writes SQL yet: the import is behind
        fix = f"{stores.command('import', '--prune')}, then {listing}"
    elif phase is Phase.DUAL_WRITE:  # the journal, and what was written before dual-write
        fix = f"{catch_up_commands(root, db, schema)}, then {listing}"
    else:
        fix = f"{stores.command('repair')}, then {listing}"
    return report, CheckItem("validation", False, f"differences: {found}", fix)


def _guard_items(root: Path, db: str | Path, schema: Schema, target: Phase) -> list[CheckItem]:
    """The guards of entering `target`, as `phase set` would check them now."""
    try:
        guards = check_move(root, db, schema, target)
    except UsageError:
        raise
    except MigratorError as exc:
        detail = f"the guards of entering {target} could not be checked: {exc}"
        return [CheckItem(f"guards of {target}", False, detail)]
    return [
        CheckItem(f"guard: {g.name}", g.passed, g.detail, "" if g.passed else g.fix) for g in guards
    ]
