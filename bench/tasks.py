"""One benchmark task per call, in its own process: `python bench/tasks.py TASK JSON_DIR DB [N]`.

Each task prints one JSON object with the seconds its measured work took (interpreter start-up
and imports excluded) and what it counted. `bench/run.py` starts these and reads the process's
peak RSS from the kernel, so memory figures are per task.
"""

from __future__ import annotations

import json
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pg_tasks  # noqa: E402  (bench/, this script's directory)
import search_tasks  # noqa: E402

from migrator.adapters.json_store import JsonStore  # noqa: E402
from migrator.adapters.sql_store import SqlStore  # noqa: E402
from migrator.schemas.codec import to_rows  # noqa: E402
from migrator.schemas.registry import resolve  # noqa: E402

SCHEMA = resolve("sessions")
TASKS: dict[str, Callable[..., dict[str, Any]]] = {}


def task(function: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    TASKS[function.__name__] = function
    return function


@task
def import_ours(json_dir: str, db: str, reading: str = "auto") -> dict[str, Any]:
    """`migrator import` through its library function, into a fresh database; `reading`
    `helper` or `inline` forces where files are parsed (`auto`: as the importer decides,
    a helper process only when a core is idle)."""
    from migrator.importer import import_store

    parallel = {"auto": None, "helper": True, "inline": False}[reading]
    started = time.perf_counter()
    summary = import_store(JsonStore(json_dir, SCHEMA), SqlStore(db, SCHEMA), parallel=parallel)
    return {"seconds": time.perf_counter() - started, "documents": summary.imported}


@task
def import_executemany(json_dir: str, db: str, index: bool = False) -> dict[str, Any]:
    """The physical limit: the same rows, stdlib sqlite3 executemany, one transaction.

    The tables are created by the toolkit (same schema, same indexes); the timed work reads and
    parses each file, builds exactly the rows the importer builds, and inserts them."""
    store = SqlStore(db, SCHEMA)
    store.init_schema()
    store.close()
    started = time.perf_counter()
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("BEGIN")
    tables = [SCHEMA.root_table, *(m.table for m in SCHEMA.child_mappings)]
    # Every column, the surrogate keys included: a NULL there lets SQLite assign it, as ours does.
    statements = {t.name: [c.name for c in t.columns] for t in tables}
    sql = {
        name: f"INSERT INTO {name} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
        for name, cols in statements.items()
    }
    partition_table = SCHEMA.partition_table
    documents = 0
    for partition in sorted(p.stem for p in Path(json_dir).glob("*.json")):
        docs = orjson.loads((Path(json_dir) / f"{partition}.json").read_bytes())
        if partition_table is not None and SCHEMA.partition_row is not None:
            row = SCHEMA.partition_row(partition)
            conn.execute(
                f"INSERT INTO {partition_table.name} ({', '.join(row)}) "
                f"VALUES ({', '.join('?' * len(row))})",
                list(row.values()),
            )
        per_table: dict[str, list[tuple[Any, ...]]] = {name: [] for name in sql}
        for position, doc in enumerate(docs):
            rows = to_rows(SCHEMA, partition, doc, position)
            cols = statements[SCHEMA.root_table.name]
            per_table[SCHEMA.root_table.name].append(tuple(rows.root.get(c) for c in cols))
            for name, child_rows in rows.children.items():
                cols = statements[name]
                per_table[name].extend(tuple(r.get(c) for c in cols) for r in child_rows)
        for name, values in per_table.items():
            conn.executemany(sql[name], values)
        documents += len(docs)
    if index:
        # The same full-text index the toolkit keeps (its FTS5 tables exist, empty): built once
        # over all the rows, the cheapest way to fill it.
        for name in _fts_tables(conn):
            conn.execute(f"INSERT INTO {name}({name}) VALUES ('rebuild')")
    conn.execute("COMMIT")
    conn.close()
    return {"seconds": time.perf_counter() - started, "documents": documents}


@task
def import_executemany_indexed(json_dir: str, db: str) -> dict[str, Any]:
    """`import_executemany` plus the search index the toolkit's import keeps: the same rows
    and the same FTS5 index, filled by one 'rebuild' per indexed field."""
    return import_executemany(json_dir, db, index=True)


def _fts_tables(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%'"
    )
    return [name for (name,) in rows]


@task
def import_copy_pg(json_dir: str, url: str) -> dict[str, Any]:
    """The physical limit on PostgreSQL: the same rows, plain psycopg `COPY ... FROM STDIN`
    into each table, one transaction.

    As `import_executemany`: the toolkit creates the tables (same schema, same indexes); the
    timed work reads and parses each file, builds exactly the rows the importer builds, and
    copies them, the columns being those the rows carry (as the importer's COPY does)."""
    import psycopg

    store = SqlStore(url, SCHEMA)
    store.init_schema()
    store.close()
    started = time.perf_counter()
    conn = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1))
    tables = [SCHEMA.root_table, *(m.table for m in SCHEMA.child_mappings)]
    partition_table = SCHEMA.partition_table
    documents = 0
    with conn.transaction(), conn.cursor() as cursor:
        for partition in sorted(p.stem for p in Path(json_dir).glob("*.json")):
            docs = orjson.loads((Path(json_dir) / f"{partition}.json").read_bytes())
            if partition_table is not None and SCHEMA.partition_row is not None:
                row = SCHEMA.partition_row(partition)
                cursor.execute(
                    f"INSERT INTO {partition_table.name} ({', '.join(row)}) "
                    f"VALUES ({', '.join(['%s'] * len(row))})",
                    list(row.values()),
                )
            per_table: dict[str, list[dict[str, Any]]] = {t.name: [] for t in tables}
            for position, doc in enumerate(docs):
                rows = to_rows(SCHEMA, partition, doc, position)
                per_table[SCHEMA.root_table.name].append(rows.root)
                for name, child_rows in rows.children.items():
                    per_table[name].extend(child_rows)
            for name, values in per_table.items():
                if not values:
                    continue
                columns = list(dict.fromkeys(key for row in values for key in row))
                statement = f"COPY {name} ({', '.join(columns)}) FROM STDIN"
                with cursor.copy(statement) as copy:
                    for row in values:
                        copy.write_row([row.get(column) for column in columns])
            documents += len(docs)
    conn.close()
    return {"seconds": time.perf_counter() - started, "documents": documents}


@task
def import_sqlite_utils(json_dir: str, db: str) -> dict[str, Any]:
    """What a user would otherwise reach for: sqlite-utils insert of each file (nested lists
    end up as JSON text in one table; nothing is validated or normalized)."""
    import sqlite_utils

    started = time.perf_counter()
    database = sqlite_utils.Database(db)
    documents = 0
    for path in sorted(Path(json_dir).glob("*.json")):
        docs = orjson.loads(path.read_bytes())
        database["sessions"].insert_all(docs, pk="id", replace=True, alter=True)
        documents += len(docs)
    database.close()
    return {"seconds": time.perf_counter() - started, "documents": documents}


@task
def validate_ours(json_dir: str, db: str) -> dict[str, Any]:
    """`migrator validate` through its library function."""
    from migrator.validator import validate

    started = time.perf_counter()
    report = validate(JsonStore(json_dir, SCHEMA), SqlStore(db, SCHEMA, create=False))
    counts = report.counts
    return {"seconds": time.perf_counter() - started, "mismatched": counts["mismatched"]}


@task
def validate_deepdiff_all(json_dir: str, db: str, limit: str = "0") -> dict[str, Any]:
    """The naive validator: DeepDiff on every document pair (or on the first `limit` pairs,
    scaled up to the whole store, when a full run would take too long)."""
    from deepdiff import DeepDiff

    json_store, sql_store = JsonStore(json_dir, SCHEMA), SqlStore(db, SCHEMA, create=False)
    cap = int(limit)
    compared = total = 0
    started = time.perf_counter()
    for partition in json_store.partitions():
        json_docs = {d["id"]: d for d in json_store.list(partition)}
        total += len(json_docs)
        if cap and compared >= cap:
            continue
        sql_docs = {d["id"]: d for d in sql_store.read_partition(partition)}
        for doc_id, doc in json_docs.items():
            DeepDiff(doc, sql_docs.get(doc_id))
            compared += 1
    seconds = time.perf_counter() - started
    scaled = seconds * total / compared if compared else seconds
    return {"seconds": scaled, "compared": compared, "documents": total, "measured": seconds}


@task
def read_both(json_dir: str, db: str) -> dict[str, Any]:
    """Just reading both stores, partition by partition: the floor for any validator."""
    json_store, sql_store = JsonStore(json_dir, SCHEMA), SqlStore(db, SCHEMA, create=False)
    started = time.perf_counter()
    documents = 0
    for partition in sorted(set(json_store.partitions()) | set(sql_store.partitions())):
        documents += len(json_store.list(partition)) + len(sql_store.read_partition(partition))
    return {"seconds": time.perf_counter() - started, "documents": documents}


def _phase_store(json_dir: str, db: str, phase: str) -> Any:
    from migrator.adapters.dual_write import open_store
    from migrator.phases import set_phase

    order = ["json-only", "dual-write", "sqlite-primary", "sqlite-only"]
    for step in order[1 : order.index(phase) + 1]:
        set_phase(json_dir, db, SCHEMA, step, force=True)
    return open_store(json_dir, db, SCHEMA)


@task
def put_latency(
    json_dir: str, db: str, phase: str, count: str = "30", stat: str = "median"
) -> dict[str, Any]:
    """Seconds of one `put` (replace a session) into a 100-session partition: the median of
    `count` puts, or their 95th percentile with `stat` p95 (issue 19 has a target for both)."""
    store = _phase_store(json_dir, db, phase)
    partition = JsonStore(json_dir, SCHEMA).partitions()[0] if phase != "sqlite-only" else None
    partition = partition or SqlStore(db, SCHEMA).partitions()[0]
    docs = store.list(partition)
    rng = random.Random(1)
    times = []
    for n in range(int(count)):
        doc = dict(rng.choice(docs))
        doc["task"] = f"edited {n}"
        started = time.perf_counter()
        store.put(partition, doc)
        times.append(time.perf_counter() - started)
    store.close()
    p95 = statistics.quantiles(times, n=20)[-1]
    median = statistics.median(times)
    return {"seconds": p95 if stat == "p95" else median, "median": median, "p95": p95}


@task
def read_latency(
    json_dir: str, db: str, phase: str, what: str, count: str = "30"
) -> dict[str, Any]:
    """Median seconds of one `list(partition)` or `get(id)` in a phase."""
    store = _phase_store(json_dir, db, phase)
    sql = SqlStore(db, SCHEMA)
    partitions = sql.partitions()
    rng = random.Random(2)
    ids = [d["id"] for d in sql.read_partition(partitions[len(partitions) // 2])]
    times = []
    for _ in range(int(count)):
        started = time.perf_counter()
        if what == "list":
            store.list(rng.choice(partitions))
        else:
            store.get(rng.choice(ids))
        times.append(time.perf_counter() - started)
    store.close()
    return {"seconds": statistics.median(times), "calls": len(times)}


def _sample_ids(db: str, count: int) -> list[str]:
    conn = sqlite3.connect(db)
    root = SCHEMA.root_table.name
    ids = [r[0] for r in conn.execute(f"SELECT {SCHEMA.id_column} FROM {root}")]
    conn.close()
    return random.Random(5).sample(ids, count)


@task
def get_latency(json_dir: str, db: str, side: str, count: str = "200") -> dict[str, Any]:
    """Median seconds of one `get(id)` (issue 19), the same random ids on every side:
    `ours` SqlStore.get; `raw` the floor, stdlib sqlite3 fetching the same rows (root row, then
    each child table by parent and position) and building the same dict with the codec's
    `from_rows`; `json_index` the JSON store given an id -> file index built beforehand
    (untimed), so one get is reading and parsing that one file and picking the document."""
    from migrator.schemas.codec import from_rows

    ids = _sample_ids(db, int(count))
    times = []
    found = 0
    if side == "ours":
        times, found = pg_tasks.timed_gets(SqlStore(db, SCHEMA, create=False), ids)
    elif side == "raw":
        conn = sqlite3.connect(db)
        root_sql, child_sql = pg_tasks.floor_statements(SCHEMA, "?")
        for doc_id in ids:
            started = time.perf_counter()
            cursor = conn.execute(root_sql, (doc_id,))
            names = [d[0] for d in cursor.description]
            row = dict(zip(names, cursor.fetchone(), strict=True))
            children = {}
            for name, sql in child_sql:
                cursor = conn.execute(sql, (doc_id,))
                cols = [d[0] for d in cursor.description]
                children[name] = [dict(zip(cols, r, strict=True)) for r in cursor.fetchall()]
            found += bool(from_rows(SCHEMA, row, children))
            times.append(time.perf_counter() - started)
        conn.close()
    else:
        index = {}
        for path in Path(json_dir).glob("*.json"):
            for doc in orjson.loads(path.read_bytes()):
                index[doc["id"]] = path
        for doc_id in ids:
            started = time.perf_counter()
            docs = orjson.loads(index[doc_id].read_bytes())
            found += any(doc["id"] == doc_id for doc in docs)
            times.append(time.perf_counter() - started)
    return {"seconds": statistics.median(times), "calls": len(times), "found": found}


@task
def validate_raw_floor(json_dir: str, db: str) -> dict[str, Any]:
    """The raw floor under validate (issue 19): orjson parse of every file plus a stdlib
    sqlite3 fetch of every row of every table; nothing compared, nothing built."""
    started = time.perf_counter()
    documents = rows = 0
    for path in sorted(Path(json_dir).glob("*.json")):
        documents += len(orjson.loads(path.read_bytes()))
    conn = sqlite3.connect(db)
    for table in [SCHEMA.root_table, *(m.table for m in SCHEMA.child_mappings)]:
        rows += len(conn.execute(f"SELECT * FROM {table.name}").fetchall())
    conn.close()
    return {"seconds": time.perf_counter() - started, "documents": documents, "rows": rows}


#: The query figures' calls (docs/querying.md's shapes), the same on both sides.
QUERIES: dict[str, dict[str, Any]] = {
    "find_type": {"where": {"type": "debate"}, "order": ["-created_at"], "limit": 100},
    "failed_instance": {
        "has": {"instances": {"status": "failed"}},
        "order": ["-created_at"],
        "limit": 100,
    },
}


@task
def query_latency(
    json_dir: str, db: str, side: str, what: str, count: str = "20"
) -> dict[str, Any]:
    """Median seconds of one query: `side` sql (SqlStore, through its indexes) or json
    (JsonStore, a scan of the files); `what` a QUERIES name, `summaries`, `list` (of a
    partition of 100 sessions, a different one each call) or `parse` (orjson of its file).
    Also the median CPU seconds of the process (`cpu_seconds`): on shared cores, wall time
    counts the time other processes held the core, and that noise is not the query's."""
    store = JsonStore(json_dir, SCHEMA) if side == "json" else SqlStore(db, SCHEMA, create=False)
    partitions = JsonStore(json_dir, SCHEMA).partitions()
    rng = random.Random(4)
    times, cpu_times = [], []
    found = 0
    for _ in range(int(count)):
        partition = rng.choice(partitions)
        started, cpu_started = time.perf_counter(), time.process_time()
        if what == "parse":  # the floor under the JSON side: orjson alone, nothing checked
            found = len(orjson.loads((Path(json_dir) / f"{partition}.json").read_bytes()))
        elif what == "summaries":
            found = len(store.summaries(partition))
        elif what == "list":
            found = len(store.list(partition))
        else:
            found = len(store.find(**QUERIES[what]))
        times.append(time.perf_counter() - started)
        cpu_times.append(time.process_time() - cpu_started)
    store.close()
    return {
        "seconds": statistics.median(times),
        "cpu_seconds": statistics.median(cpu_times),
        "calls": len(times),
        "found": found,
    }


@task
def change_fraction(json_dir: str, db: str, fraction: str) -> dict[str, Any]:
    """Edit a fraction of the JSON documents in place (the store is a copy), for validate."""
    store = JsonStore(json_dir, SCHEMA)
    rng = random.Random(3)
    changed = 0
    for partition in store.partitions():
        docs = store.read_partition(partition)
        for doc in docs:
            if rng.random() < float(fraction):
                doc["task"] = doc["task"] + " (changed)"
                changed += 1
        store.write_partition(partition, docs)
    return {"seconds": 0.0, "changed": changed}


def _process_seconds(command: list[str], runs: int = 5) -> dict[str, Any]:
    """The median wall time of `runs` fresh processes running `command`, output discarded."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
        times.append(time.perf_counter() - started)
    return {"seconds": statistics.median(times), "runs": times}


@task
def startup(*argv: str) -> dict[str, Any]:
    """A fresh `python -m migrator ARGV` process, from exec to exit (what a user waits for)."""
    return _process_seconds([sys.executable, "-m", "migrator", *argv])


@task
def startup_bare() -> dict[str, Any]:
    """A fresh interpreter that does nothing: the floor under every command's start-up."""
    return _process_seconds([sys.executable, "-c", "pass"])


@task
def copy_store(source: str, target: str) -> dict[str, Any]:
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(".migrator"))
    return {"seconds": 0.0}


search_tasks.register(task, SCHEMA)
pg_tasks.register(task, SCHEMA)


def profile(out: str, name: str, *args: str) -> None:
    """Run one task under cProfile; write its top functions by cumulative time to `out`."""
    import cProfile
    import io
    import pstats

    profiler = cProfile.Profile()
    result = profiler.runcall(TASKS[name], *args)
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).strip_dirs().sort_stats("cumulative").print_stats(35)
    header = f"# cProfile of `bench/tasks.py {name} {' '.join(args)}`: {json.dumps(result)}\n"
    Path(out).write_text(header + text.getvalue(), encoding="utf-8")


def trace_memory(out: str, name: str, *args: str) -> None:
    """Run one task under tracemalloc; write the allocations alive at the task's highest traced
    memory (sampled every 0.2 s), by line and by call stack, to `out`."""
    import threading
    import tracemalloc

    tracemalloc.start(12)
    peak: dict[str, Any] = {"bytes": 0, "snapshot": None}
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.2):
            current, _ = tracemalloc.get_traced_memory()
            if current > peak["bytes"]:
                peak["bytes"], peak["snapshot"] = current, tracemalloc.take_snapshot()

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    result = TASKS[name](*args)
    stop.set()
    sampler.join()
    _, traced_peak = tracemalloc.get_traced_memory()
    snapshot = peak["snapshot"].filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
    lines = [
        f"# tracemalloc of `bench/tasks.py {name} {' '.join(args)}`: {json.dumps(result)}",
        f"# traced peak {traced_peak / 2**20:.1f} MiB; the snapshot below was taken at "
        f"{peak['bytes'] / 2**20:.1f} MiB (sampled every 0.2 s). Top 25 lines, then the top 6 "
        "call stacks.",
    ]
    lines += [str(stat) for stat in snapshot.statistics("lineno")[:25]]
    for stat in snapshot.statistics("traceback")[:6]:
        lines += ["", f"{stat.size / 2**20:.1f} MiB in {stat.count} blocks:"]
        lines += stat.traceback.format(limit=12)
    Path(out).write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    if sys.argv[1] == "--profile":
        profile(*sys.argv[2:])
    elif sys.argv[1] == "--tracemalloc":
        trace_memory(*sys.argv[2:])
    else:
        name, *args = sys.argv[1:]
        print(json.dumps(TASKS[name](*args)))
