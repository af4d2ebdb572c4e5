"""The PostgreSQL figures of `make bench` (`bench/run.py --only pg` alone): import beside a plain
psycopg COPY of the same rows, validate beside its raw floor (orjson + a psycopg fetch of every
row), get beside its psycopg floor, list and summaries beside `JsonStore.list`.

They run on a throwaway server started as the tests start theirs (tests/pg_server.py: initdb
into /tmp, fsync off); where none can be started the figures are skipped with a line saying why.
The server's settings are read back (`SHOW`) and stated under the table."""

from __future__ import annotations

import shutil
import sys
from typing import Any

#: Said in each figure's name: the numbers hold for this server, not a durable one.
SERVER = "the test server: fsync, synchronous_commit and full_page_writes off"


def bench_postgres(run: Any, scale: str, reps: int, figures: list[Any]) -> None:
    """`run` is bench/run.py (its helpers), passed in to keep one copy of them."""
    sys.path.insert(0, str(run.HERE.parent))
    from tests.pg_server import PgServer, PgUnavailable

    try:
        server = PgServer.start_new()
    except PgUnavailable as exc:
        run.log(f"PostgreSQL figures skipped: {exc}")
        run.NOTES.append(f"PostgreSQL figures not measured: no server could be started ({exc}).")
        return
    try:
        shown = run.task("pg_settings", server.url).detail["settings"]
        settings = ", ".join(f"{name} {value}" for name, value in shown.items())
        run.NOTES.append(
            f"PostgreSQL figures ({scale}): a throwaway server on this machine "
            f"(tests/pg_server.py), {settings}."
        )
        _import(run, scale, reps, figures, server.url)
        _validate_and_read(run, scale, reps, figures, server.url)
    finally:
        server.stop()


def _fresh_database(server: str) -> str:
    from tests.pg_server import create_database

    return create_database(server)


def _drop(server: str, url: str) -> None:
    from tests.pg_server import drop_database

    drop_database(server, url)


def _import(run: Any, scale: str, reps: int, figures: list[Any], server: str) -> None:
    json_dir = run.store(scale)
    run.log(f"{scale}: PostgreSQL import vs psycopg COPY of the same rows")
    ours: list[Any] = []
    base: list[Any] = []
    for _ in range(reps):
        for runs, name in ((ours, "import_ours"), (base, "import_copy_pg")):
            shutil.rmtree(json_dir / ".migrator", ignore_errors=True)
            url = _fresh_database(server)
            try:
                runs.append(run.task(name, str(json_dir), url))
            finally:
                _drop(server, url)
    shutil.rmtree(json_dir / ".migrator", ignore_errors=True)
    figures.append(
        run.measured(
            "PostgreSQL: import docs/s vs psycopg COPY of the same rows (one transaction)",
            scale,
            ours,
            base,
            kind="throughput",
            threshold=0.8,
            notes=SERVER,
        )
    )


def _validate_and_read(run: Any, scale: str, reps: int, figures: list[Any], server: str) -> None:
    """One imported database (0.1% of its JSON copy changed since) for validate and the reads."""
    changed = run.DATA / scale / "work" / "json-changed-pg"
    run.task("copy_store", str(run.store(scale)), str(changed))
    url = _fresh_database(server)
    try:
        run.task("import_ours", str(changed), url)
        shutil.rmtree(changed / ".migrator", ignore_errors=True)
        run.task("change_fraction", str(changed), url, "0.001")
        run.task("pg_analyze", url)
        run.log(f"{scale}: PostgreSQL validate (0.1% changed) vs its raw floor")
        ours, floor = run.pairs(
            reps,
            ("validate_ours", str(changed), url),
            ("validate_raw_floor_pg", str(changed), url),
        )
        figures.append(
            run.measured(
                "PostgreSQL: validate vs raw floor (orjson parse of every file + psycopg fetch "
                "of every row)",
                scale,
                ours,
                floor,
                kind="ratio",
                threshold=1.5,
                notes=SERVER,
            )
        )
        _reads(run, scale, reps, figures, str(changed), url)
    finally:
        _drop(server, url)


def _reads(run: Any, scale: str, reps: int, figures: list[Any], json_dir: str, url: str) -> None:
    run.log(f"{scale}: PostgreSQL get(id) vs its psycopg floor")
    ours, raw = run.pairs(
        reps,
        ("get_latency_pg", json_dir, url, "ours"),
        ("get_latency_pg", json_dir, url, "raw"),
    )
    figures.append(
        run.measured(
            "PostgreSQL: get(id) vs psycopg (same prepared statements, same dict)",
            scale,
            ours,
            raw,
            kind="ratio",
            threshold=2.0,
            notes=SERVER,
        )
    )
    run.log(f"{scale}: PostgreSQL list(partition) and summaries(partition) vs JsonStore.list")
    for what, threshold in (("list", 1.0), ("summaries", 20.0)):
        ours, parse = run.pairs(
            reps,
            ("query_latency", json_dir, url, "sql", what, "30"),
            ("query_latency", json_dir, url, "json", "list", "30"),
        )
        figures.append(
            run.measured(
                f"PostgreSQL: {what}(partition) of 100 vs JsonStore.list (orjson parse + checks)",
                scale,
                ours,
                parse,
                kind="speedup",
                threshold=threshold,
                notes=SERVER,
            )
        )
