"""The Python API: the same verbs the CLI calls, taking paths (or URLs) and a schema reference.

The verbs themselves live one per module (`migrator.importer`, `migrator.validator`, ...) and
take opened stores; these wrappers open the stores for callers who have paths, and close them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from migrator.adapters.dual_write import DualWriteStore, open_store
from migrator.adapters.phase_state import Phase
from migrator.adapters.query import Page
from migrator.archive import ArchiveResult, archive_json_store, restore_archive
from migrator.backup import BackupResult, create_backup, list_backups, snapshot_before
from migrator.check import CheckItem, CheckResult
from migrator.doctor import DoctorReport, diagnose
from migrator.export import ExportResult, export_store
from migrator.generate import GenerateSummary, generate_store
from migrator.history import read_runs, record_run
from migrator.import_summary import ImportSummary
from migrator.phase_recover import Recovery
from migrator.phases import PhaseChange, check_move
from migrator.repair import RepairReport
from migrator.restore import RestoreResult, restore_backup
from migrator.run_import import import_store
from migrator.run_phase import recover_phase, repair, set_phase
from migrator.run_validate import check, validate
from migrator.schemas.declaration import Schema
from migrator.status import StatusReport, status
from migrator.validator import ValidationReport

__all__ = [
    "ArchiveResult",
    "BackupResult",
    "CheckItem",
    "CheckResult",
    "DoctorReport",
    "DualWriteStore",
    "ExportResult",
    "GenerateSummary",
    "ImportSummary",
    "Page",
    "Phase",
    "PhaseChange",
    "Recovery",
    "RepairReport",
    "RestoreResult",
    "StatusReport",
    "ValidationReport",
    "archive_json_store",
    "check",
    "check_move",
    "create_backup",
    "diagnose",
    "export_store",
    "find",
    "generate_store",
    "import_store",
    "list_backups",
    "open_store",
    "read_runs",
    "record_run",
    "recover_phase",
    "repair",
    "restore_archive",
    "restore_backup",
    "set_phase",
    "snapshot_before",
    "status",
    "validate",
]


def find(
    json_dir: Path | str,
    db: str | Path,
    schema: str | Schema = "sessions",
    **query: Any,
) -> Page:
    """`find` on the store the current phase reads, for scripts (query: see
    `migrator.adapters.query`: where, has, partition, order, limit, offset, after, returning)."""
    with open_store(json_dir, db, schema) as store:
        return store.find(**query)


def _publish() -> None:
    """Bind the API on the package: importing `migrator.check` (a module) above made
    `migrator.check` the module, shadowing the function of the same name."""
    import migrator

    for name in __all__:
        setattr(migrator, name, globals()[name])


_publish()
