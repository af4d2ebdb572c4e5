"""Schema evolution through Alembic: the `migrator db` verbs, their environment, and the data
moves revision scripts call. Imports Alembic: import it only where a `db` verb runs."""

from __future__ import annotations

from migrator.schema_migrations.verbs import (
    CheckReport,
    Move,
    NewRevision,
    Status,
    check,
    downgrade,
    history,
    init_folder,
    new_revision,
    status,
    upgrade,
)

__all__ = [
    "CheckReport",
    "Move",
    "NewRevision",
    "Status",
    "check",
    "downgrade",
    "history",
    "init_folder",
    "new_revision",
    "status",
    "upgrade",
]
