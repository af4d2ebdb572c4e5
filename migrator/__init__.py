"""migrator: move a legacy JSON-file document store into SQL without downtime or loss.

The public API is served from `migrator.api` on first use, so that `import migrator.errors`
(which every layer does) stays cheap. The names are listed here, not looked up, so that an
attribute miss during a submodule's import (`from migrator import importer`) never imports the
API midway (a circular import). `migrator.api` takes its `__all__` from this one list, and
tests/test_api.py checks that each name resolves there.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_API = (
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
    "recover_phase",
    "record_run",
    "repair",
    "restore_archive",
    "restore_backup",
    "set_phase",
    "snapshot_before",
    "status",
    "validate",
)

__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    if name not in _API:
        raise AttributeError(f"module 'migrator' has no attribute {name!r}")
    return getattr(importlib.import_module("migrator.api"), name)
