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

from migrator import _API
from migrator.adapters.dual_write import DualWriteStore as DualWriteStore
from migrator.adapters.dual_write import open_store as open_store
from migrator.adapters.phase_state import Phase as Phase
from migrator.adapters.query import Page as Page
from migrator.archive import ArchiveResult as ArchiveResult
from migrator.archive import restore_archive as restore_archive
from migrator.backup import BackupResult as BackupResult
from migrator.backup import snapshot_before as snapshot_before
from migrator.backup_retention import list_backups as list_backups
from migrator.checklist import CheckItem as CheckItem
from migrator.checklist import CheckResult as CheckResult
from migrator.doctor import DoctorReport as DoctorReport
from migrator.doctor import diagnose as diagnose
from migrator.export import ExportResult as ExportResult
from migrator.generate import GenerateSummary as GenerateSummary
from migrator.generate import generate_store as generate_store
from migrator.history import read_runs as read_runs
from migrator.history import record_run as record_run
from migrator.import_summary import ImportSummary as ImportSummary
from migrator.journal_replay import RepairReport as RepairReport
from migrator.phase_recover import Recovery as Recovery
from migrator.phases import PhaseChange as PhaseChange
from migrator.phases import check_move as check_move
from migrator.restore import RestoreResult as RestoreResult
from migrator.run_import import import_store as import_store
from migrator.run_init import InitResult as InitResult
from migrator.run_init import init_database as init_database
from migrator.run_phase import recover_phase as recover_phase
from migrator.run_phase import repair as repair
from migrator.run_phase import set_phase as set_phase
from migrator.run_safety import archive_json_store as archive_json_store
from migrator.run_safety import create_backup as create_backup
from migrator.run_safety import export_store as export_store
from migrator.run_safety import restore_backup as restore_backup
from migrator.run_validate import check as check
from migrator.run_validate import validate as validate
from migrator.schemas.declaration import Schema
from migrator.status_report import StatusReport as StatusReport
from migrator.status_report import status as status
from migrator.validator import ValidationReport as ValidationReport

#: The public names, listed once in `migrator._API` (the package serves them lazily).
__all__ = list(_API)


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
