"""`doctor`: one report of everything that says whether the stores are healthy.

The database's own checks (SQLite: `PRAGMA integrity_check`, `foreign_key_check`, the journal
mode), the schema version it records against the one the code expects, rows per table, child
rows whose parent is gone (a LEFT JOIN per foreign key the schema declares), partition files
that do not parse, the phase, and writes still waiting for `repair`. Each check runs on its
own: a damaged database is reported and the remaining checks still run. Read-only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from migrator.adapters.dialects import Check, CheckStatus, database_url, dialect_for, redacted
from migrator.adapters.journal import Journal
from migrator.adapters.json_store import JsonStore
from migrator.adapters.phase_state import current_phase
from migrator.adapters.sql_store import SqlStore
from migrator.errors import CorruptRowError, JsonFileError, MigratorError
from migrator.journal_replay import settled_pending
from migrator.schemas.declaration import Schema
from migrator.schemas.registry import resolve

logger = logging.getLogger(__name__)

#: What brings a damaged database back (the same words as `DatabaseCorruptError`'s).
RESTORE_HINT = "run `migrator backups` to pick a backup and `migrator restore BACKUP`"

#: Phases in which the application still reads or writes the JSON files.
_JSON_PHASES = ("json-only", "dual-write", "sqlite-primary")


@dataclass(frozen=True)
class DoctorReport:
    """Every check's finding; healthy when none is a problem."""

    phase: str
    checks: tuple[Check, ...]

    @property
    def problems(self) -> list[Check]:
        return [c for c in self.checks if c.status == "problem"]

    @property
    def healthy(self) -> bool:
        return not self.problems


def diagnose(json_dir: Path, db: str | Path, schema: Schema | str) -> DoctorReport:
    """Run every check against the JSON store at `json_dir` and the database `db`."""
    schema = resolve(schema)
    phase = current_phase(json_dir)
    checks = [Check("phase", "problem" if phase == "unknown" else "info", phase)]
    checks += _database_checks(db, schema, phase)
    json_store = JsonStore(json_dir, schema)
    checks += _json_checks(json_store, phase) + _staged(json_store)
    checks += _attempt("pending repairs", lambda: [_pending_repairs(json_dir, schema)])
    return DoctorReport(phase, tuple(checks))


def _database_checks(db: str | Path, schema: Schema, phase: str) -> list[Check]:
    url = database_url(db)
    try:
        exists = dialect_for(url).database_exists(url)
    except MigratorError as exc:  # a server that cannot be reached: the other checks still run
        return [Check("database", "problem", str(exc))]
    if not exists:
        needed = phase not in ("json-only", "unknown")
        detail = f"{redacted(db)}: does not exist yet" + (
            f" (phase {phase} needs it)" if needed else ""
        )
        return [Check("database", "problem" if needed else "info", detail)]
    store = SqlStore(db, schema, create=False)
    try:
        checks = [Check("database", "info", store.location)]
        checks += [_restore_hint(c) for c in _attempt("integrity", store.health_checks)]
        checks += _attempt("schema version", lambda: [_schema_check(store)])
        checks += _attempt("tables", lambda: [_structure(store, phase)])
        checks += _attempt("rows", lambda: [_counts(store)])
        checks += _attempt("documents", lambda: [_decodable(store)])
        checks += _attempt("orphans", lambda: _orphans(store))
        checks += _attempt("search index", lambda: _search_index(store, db))
        return checks
    finally:
        store.close()


def _restore_hint(check: Check) -> Check:
    """A damaged database is brought back from a backup: the integrity problem says how."""
    if check.name != "integrity" or check.status != "problem" or "migrator restore" in check.detail:
        return check
    detail = f"{check.detail}; {RESTORE_HINT}"
    return Check(check.name, check.status, detail, check.data)


def _schema_check(store: SqlStore) -> Check:
    expected = store.schema
    recorded = store.recorded_schema()
    if recorded is None:
        return Check(
            "schema version", "problem", "no schema recorded: not created by `migrator init`"
        )
    name, version = recorded
    said = f"database holds {name!r} v{version}, the code expects {expected.name!r} "
    said += f"v{expected.version}"
    if name != expected.name:
        return Check("schema version", "problem", f"{said}: another schema")
    if version > expected.version:
        older = "newer; the code is older than the database"
        return Check("schema version", "problem", f"{said}: {older}")
    if version < expected.version:
        return Check("schema version", "problem", f"{said}: older; run `migrator db upgrade`")
    return Check("schema version", "ok", said)


def _structure(store: SqlStore, phase: str) -> Check:
    """Every table and column the schema declares exists: a dropped one loses rows that
    `import` would otherwise skip as unchanged, and makes a clean validation impossible."""
    from sqlalchemy import exc

    try:
        lacking = _lacking(store)
    except exc.SQLAlchemyError as error:
        return Check("tables", "problem", f"cannot list the tables: {error}")
    if lacking is None:
        return Check("tables", "info", "no tables yet")
    if not lacking:
        return Check("tables", "ok", f"{len(store.schema.tables)} tables, every column present")
    fix = (
        "restore a backup (`migrator backups`, then `migrator restore BACKUP`)"
        if phase in ("sqlite-primary", "sqlite-only")
        or any(m.startswith("column") for m in lacking)
        else "`migrator import` recreates the tables and reads every file again"
    )
    return Check("tables", "problem", f"missing: {', '.join(lacking)}; {fix}", lacking)


def _lacking(store: SqlStore) -> list[str] | None:
    """The schema's tables and columns the database lacks; None when it has none of them."""
    from sqlalchemy import inspect

    with store.engine.connect() as conn:
        found = inspect(conn)
        present = set(found.get_table_names())
        if not present & {t.name for t in store.schema.tables}:
            return None
        lacking = []
        for table in store.schema.tables:
            if table.name not in present:
                lacking.append(f"table {table.name}")
                continue
            columns = {c["name"] for c in found.get_columns(table.name)}
            lacking += [
                f"column {table.name}.{c.name}" for c in table.columns if c.name not in columns
            ]
    return lacking


def _counts(store: SqlStore) -> Check:
    counts = store.table_counts()
    if not counts:
        return Check("rows", "info", "no tables yet", counts)
    return Check("rows", "info", ", ".join(f"{t} {n}" for t, n in counts.items()), counts)


def _decodable(store: SqlStore) -> Check:
    """Every stored document reads back: a corrupt `extra` value would otherwise only show at
    the application's read (served from JSON in sqlite-primary, an error in sqlite-only)."""
    if not store.is_initialized():
        return Check("documents", "info", "no tables yet")
    try:
        n = sum(1 for _ in store.iter_documents())
    except CorruptRowError as exc:
        fix = "restore a backup (`migrator backups`, then `migrator restore BACKUP`)"
        return Check("documents", "problem", f"{exc}; {fix}")
    return Check("documents", "ok", f"{n} documents read back")


def _orphans(store: SqlStore) -> list[Check]:
    found = store.orphans()
    if not found:
        return [Check("orphans", "ok", "every child row has its parent")]
    return [
        Check(
            "orphans",
            "problem",
            f"{o.rows} row(s) of {o.table} whose {o.column} names no {o.parent} row "
            f"(e.g. {', '.join(repr(v) for v in o.sample)})",
            {"table": o.table, "column": o.column, "parent": o.parent, "rows": o.rows},
        )
        for o in found
    ]


def _search_index(store: SqlStore, db: str | Path) -> list[Check]:
    """The full-text index of each searchable field agrees with its rows, or how to rebuild."""
    fix = f"; rebuild it: migrator reindex --db {redacted(db)}"
    return [
        replace(c, detail=c.detail + fix) if c.status == "problem" else c
        for c in store.search_index_checks()
    ]


def _json_checks(store: JsonStore, phase: str) -> list[Check]:
    if not store.exists():
        status: CheckStatus = "problem" if phase in _JSON_PHASES else "info"
        return [Check("json files", status, f"{store.root}: no JSON store directory")]
    partitions = store.partitions()
    bad = []
    for partition in partitions:
        try:
            data = store.read_bytes(partition)
            if data is not None:
                store.parse(partition, data)
        except JsonFileError as exc:
            bad.append(str(exc))
    if not partitions:
        empty: CheckStatus = "problem" if phase in ("dual-write", "sqlite-primary") else "info"
        return [Check("json files", empty, f"{store.root}: no partition files")]
    if bad:
        detail = f"{len(bad)} of {len(partitions)} partition file(s) do not parse: {bad[0]}"
        return [Check("json files", "problem", detail, bad)]
    return [Check("json files", "ok", f"{len(partitions)} partition file(s) parse")]


def _staged(store: JsonStore) -> list[Check]:
    """Staged files a killed writer left: never read, so no problem; repair removes them."""
    names = [tmp.name for tmp in store.staged_leftovers()]
    if not names:
        return []
    detail = f"{len(names)} left by a killed writer, never read: `migrator repair` removes them"
    return [Check("staged files", "info", detail, names)]


def _pending_repairs(json_dir: Path, schema: Schema) -> Check:
    """Writes still pending once those in flight have finished (a live application always has
    some intents open: they are not repairs)."""
    pending = settled_pending(JsonStore(json_dir, schema), Journal(json_dir))
    if not pending:
        return Check("pending repairs", "ok", "none")
    return Check(
        "pending repairs",
        "problem",
        f"{len(pending)} write(s) may be on one store only; run `migrator repair`",
        len(pending),
    )


def _attempt(name: str, check: Callable[[], list[Check]]) -> list[Check]:
    """A check's findings, or one problem saying why it could not run."""
    try:
        return check()
    except MigratorError as exc:
        logger.debug("check %s failed", name, exc_info=True)
        return [Check(name, "problem", str(exc))]
