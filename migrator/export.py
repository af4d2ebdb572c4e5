"""`export`: write a legacy JSON store from the SQL database.

Each partition is read in one consistent transaction and written the way the legacy
application writes its files (the JSON store's own writer: same indentation, same escaping,
atomic replace), so the exported directory validates clean against the database and equals
the store it was imported from, document for document, key order included.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from migrator.adapters.json_store import JsonStore
from migrator.adapters.sql_store import SqlStore
from migrator.adapters.state_dir import NAME as STATE_DIR
from migrator.adapters.state_dir import StateDir
from migrator.errors import UsageError
from migrator.schemas.declaration import Schema
from migrator.schemas.registry import resolve

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExportResult:
    """Where the export went and what it wrote."""

    out: Path
    partitions: int
    documents: int
    bytes: int


def export_store(
    db: str | Path,
    schema: Schema | str,
    out: Path,
    *,
    partitions: Sequence[str] | None = None,
    force: bool = False,
    json_dir: Path | None = None,
) -> ExportResult:
    """Write the database's partitions (or only `partitions`) as `<out>/<partition>.json`.

    A non-empty `out` is refused unless `force`; then the exported partitions' files are
    replaced and any other file in `out` is left as it is. A live store is refused even with
    `force`: `json_dir` (the store the run is for) or any directory holding a store's state
    (`.migrator/`): its files may hold writes SQL lacks, and the phase moves rebuild it safely.
    """
    schema = resolve(schema)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"out {out}: not a directory", parameters=["out"])
    _refuse_live_store(out, json_dir)
    if out.is_dir() and any(out.iterdir()) and not force:
        raise UsageError(
            f"out {out}: not empty; choose an empty directory or pass force=True",
            parameters=["out", "force=True"],
        )
    sql = SqlStore(db, schema, create=False)
    try:
        stored = sql.partitions()
        names = list(dict.fromkeys(partitions)) if partitions else stored
        unknown = sorted(set(names) - set(stored))
        if unknown:
            raise UsageError(
                f"partitions {unknown[0]}: the database has no such partition",
                parameters=["partitions"],
            )
        target = JsonStore(out, schema)
        out.mkdir(parents=True, exist_ok=True)
        documents = size = 0
        for name in names:
            docs = sql.read_partition(name)
            target.write_partition(name, docs)
            documents += len(docs)
            size += target.path_for(name).stat().st_size
            logger.info("exported %s: %d documents", name, len(docs))
    finally:
        sql.close()
    return ExportResult(out, len(names), documents, size)


def _refuse_live_store(out: Path, json_dir: Path | None) -> None:
    same = (
        json_dir is not None and out.is_dir() and Path(json_dir).is_dir() and out.samefile(json_dir)
    )
    if same or StateDir(out).path.exists():
        raise UsageError(
            f"out {out}: the live JSON store (the json_dir, or a directory holding "
            f"{STATE_DIR}/), refused even with force=True: its files may hold writes the "
            "database lacks; export into a new directory (`migrator phase set` back to a JSON "
            "phase rebuilds the live store from SQL safely)",
            parameters=["out", "json_dir", "force=True"],
        )
