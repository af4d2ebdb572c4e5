"""The Python API: the verbs the CLI calls, taking paths (or URLs) and a schema reference.

Each verb that changes or checks data follows the run protocol (`migrator.run_protocol`): it
opens and closes its stores, takes its lock, its automatic snapshot and its history line, and
records a validation, exactly as the command line does (`migrator.run_import`,
`run_validate`, `run_phase`, `run_safety`). The work itself lives one module per verb
(`migrator.importer`, `migrator.validator`, ...), on opened stores.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from migrator.adapters.dual_write import DualWriteStore, open_store
from migrator.adapters.phase_state import Phase
from migrator.adapters.query import Page
from migrator.archive import ArchiveResult, restore_archive
from migrator.backup import BackupResult, snapshot_before
from migrator.backup_retention import list_backups
from migrator.check import CheckItem, CheckResult
from migrator.doctor import DoctorReport, diagnose
from migrator.export import ExportResult
from migrator.generate import GenerateSummary, generate_store
from migrator.history import read_runs, record_run
from migrator.import_summary import ImportSummary
from migrator.phase_recover import Recovery
from migrator.phases import PhaseChange, check_move
from migrator.repair import RepairReport
from migrator.restore import RestoreResult
from migrator.run_import import import_store
from migrator.run_init import InitResult, init_database
from migrator.run_phase import recover_phase, repair, set_phase
from migrator.run_safety import archive_json_store, create_backup, export_store, restore_backup
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
    "InitResult",
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
    "init_database",
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
