"""Whether a database could serve dual writes, judged without creating or changing anything.

`migrator check` in `json-only` asks this where `phase set dual-write` creates the tables: a
check is read-only, so running it twice answers the same (issue 16, point 3). A database that
does not exist yet passes when its folder exists and is writable: the move creates it.
"""

from __future__ import annotations

import os
from pathlib import Path

from migrator.adapters.dialects import database_url, dialect_for
from migrator.adapters.sql_store import SqlStore
from migrator.errors import MigratorError
from migrator.schemas.declaration import Schema


def database_problem(db: str | Path, schema: Schema) -> str | None:
    """Why `db` cannot take this schema's tables and writes, or None when it can."""
    url = database_url(db)
    file = dialect_for(url).database_file(url)
    if file is not None and not file.exists():
        folder = file.parent
        if not folder.is_dir():
            return f"the folder {folder} does not exist"
        if not os.access(folder, os.W_OK | os.X_OK):
            return f"the folder {folder} is not writable: the database cannot be created"
        return None
    if file is not None and not os.access(file, os.R_OK | os.W_OK):
        return f"{file} is not writable"
    sql = SqlStore(db, schema, create=False)
    try:
        if sql.is_initialized():
            sql.count()
        else:
            recorded = sql.recorded_schema()
            if recorded is not None and recorded[0] != schema.name:
                return f"the database holds schema {recorded[0]!r}, not {schema.name!r}"
    except MigratorError as exc:
        return str(exc)
    finally:
        sql.close()
    return None
