"""PostgreSQL bench tasks (registered into `bench/tasks.py`'s table): the raw psycopg floors
under validate and get, the server's settings, and the statistics a loaded table needs.

`url` is a SQLAlchemy URL (`postgresql+psycopg://...`) as tests/pg_server.py hands them out;
psycopg takes it without the `+psycopg`."""

from __future__ import annotations

import random
import statistics
import time
from pathlib import Path
from typing import Any

import orjson

from migrator.adapters.sql_store import SqlStore

#: The server settings a PostgreSQL figure depends on, stated beside the figures.
SETTINGS = (
    "server_version",
    "fsync",
    "synchronous_commit",
    "full_page_writes",
    "shared_buffers",
    "work_mem",
    "maintenance_work_mem",
    "max_wal_size",
)


def _connect(url: str) -> Any:
    import psycopg

    return psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1))


def register(task: Any, schema: Any) -> None:
    """Add this module's tasks to the runner's table."""
    tables = [schema.root_table, *(m.table for m in schema.child_mappings)]

    @task
    def pg_settings(url: str) -> dict[str, Any]:
        """The server's settings that the figures depend on (SHOW of each)."""
        with _connect(url) as conn:
            shown = {name: conn.execute(f"SHOW {name}").fetchone()[0] for name in SETTINGS}
        return {"seconds": 0.0, "settings": shown}

    @task
    def pg_analyze(url: str) -> dict[str, Any]:
        """ANALYZE, as autovacuum soon would after a bulk load: without statistics the planner
        scans a child table whole for one parent's rows. Untimed set-up, not a figure."""
        with _connect(url) as conn:
            conn.autocommit = True
            conn.execute("ANALYZE")
        return {"seconds": 0.0}

    @task
    def validate_raw_floor_pg(json_dir: str, url: str) -> dict[str, Any]:
        """The raw floor under validate on PostgreSQL: orjson parse of every file plus a
        psycopg fetch of every row of every table (tuples); nothing compared, nothing built.
        The driver is imported before the clock starts, as the SQLite floor's is."""
        import psycopg  # noqa: F401  (its import is not the floor's work)

        started = time.perf_counter()
        documents = rows = 0
        for path in sorted(Path(json_dir).glob("*.json")):
            documents += len(orjson.loads(path.read_bytes()))
        with _connect(url) as conn, conn.cursor() as cursor:
            for table in tables:
                cursor.execute(f"SELECT * FROM {table.name}")
                rows += len(cursor.fetchall())
        return {"seconds": time.perf_counter() - started, "documents": documents, "rows": rows}

    @task
    def get_latency_pg(json_dir: str, url: str, side: str, count: str = "200") -> dict[str, Any]:
        """Median seconds of one `get(id)` on PostgreSQL, the same random ids on both sides:
        `ours` SqlStore.get; `raw` the floor, psycopg running the same three statements
        (prepared on the server, as ours are) in one read-only transaction and building the same
        dict with the codec's `from_rows` from dict rows."""
        from migrator.schemas.codec import from_rows

        with _connect(url) as conn:
            root = schema.root_table.name
            every = [r[0] for r in conn.execute(f"SELECT {schema.id_column} FROM {root}")]
        ids = random.Random(5).sample(every, int(count))
        times = []
        found = 0
        if side == "ours":
            times, found = timed_gets(SqlStore(url, schema, create=False), ids)
        else:
            root_sql, child_sql = floor_statements(schema, "%s")
            conn = _connect(url)
            conn.read_only = True
            for doc_id in ids:
                started = time.perf_counter()
                with conn.cursor() as cursor:
                    cursor.execute(root_sql, (doc_id,), prepare=True)
                    names = [d.name for d in cursor.description]
                    row = dict(zip(names, cursor.fetchone(), strict=True))
                    children = {}
                    for name, sql in child_sql:
                        cursor.execute(sql, (doc_id,), prepare=True)
                        cols = [d.name for d in cursor.description]
                        children[name] = [dict(zip(cols, r, strict=True)) for r in cursor]
                conn.rollback()
                found += bool(from_rows(schema, row, children))
                times.append(time.perf_counter() - started)
            conn.close()
        return {"seconds": statistics.median(times), "calls": len(times), "found": found}


def timed_gets(store: SqlStore, ids: list[str]) -> tuple[list[float], int]:
    """Seconds of `store.get` for each id (the first one also run untimed before: connect and
    reflect outside the timing, as a long-lived application does), and how many were found;
    the store is closed after."""
    store.get(ids[0])
    times, found = [], 0
    for doc_id in ids:
        started = time.perf_counter()
        found += store.get(doc_id) is not None
        times.append(time.perf_counter() - started)
    store.close()
    return times, found


def floor_statements(schema: Any, placeholder: str) -> tuple[str, list[tuple[str, str]]]:
    """The raw get floor's SQL: the root row by id, then each child table's rows by parent in
    position order (with its mapping's name), `placeholder` the driver's parameter mark."""
    root = schema.root_table.name
    children = [
        (
            mapping.name,
            f"SELECT * FROM {mapping.table.name} WHERE {child.parent_column} = {placeholder} "
            "ORDER BY position",
        )
        for child, mapping in zip(schema.children, schema.child_mappings, strict=True)
    ]
    return f"SELECT * FROM {root} WHERE {schema.id_column} = {placeholder}", children
