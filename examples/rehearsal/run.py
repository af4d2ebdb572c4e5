"""The rehearsal from start to end: a synthetic legacy store, the service on it under load,
the operator's script, the final checks, the report.

    python -m examples.rehearsal --duration 180 --out rehearsal
    python -m examples.rehearsal --db postgresql://user@127.0.0.1/app   # an empty database

Exit 0 when nothing was lost or stale, no client saw an unexpected error, every operator step
ended as expected and the final validation is clean; 1 otherwise; 2 on a usage error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from examples.rehearsal.chart import draw
from examples.rehearsal.ledger import Document, Ledger, Verdict
from examples.rehearsal.load import LoadResult, LoadSettings, run_load
from examples.rehearsal.operator import Operator
from examples.rehearsal.report import closing_lines, summarize, window_line
from examples.rehearsal.server import Service, child_env
from examples.rehearsal.timeline import Timeline
from migrator.adapters.dialects import redacted
from migrator.adapters.json_store import JsonStore
from migrator.adapters.sql_store import SqlStore
from migrator.generate import generate_store
from migrator.phases import read_phase
from migrator.schemas.registry import resolve

#: Between the rehearsal's clock and the wall-clock time the phase file records.
CLOCK_MARGIN_SECONDS = 0.5


@dataclass(frozen=True)
class Settings:
    out: Path
    db: str | None = None  # None: a SQLite file in the output folder
    duration: float = 180.0
    clients: int = 20
    workers: int = 3
    sessions: int = 300
    think: float = 0.1
    timeout: float = 60.0
    seed: int = 1

    @property
    def database(self) -> str:
        return "PostgreSQL" if self.db and "://" in self.db else "SQLite"


def rehearse(settings: Settings, *, echo: bool = True) -> dict[str, Any]:
    """Run one rehearsal; its JSON summary (also written to `<out>/summary.json`)."""
    out = settings.out
    out.mkdir(parents=True, exist_ok=True)
    json_dir, db = _fresh_stores(out, settings)
    generate_store(
        json_dir, sessions=settings.sessions, schema=resolve("sessions"), seed=settings.seed
    )
    ledger = Ledger()
    partitions = _track_originals(json_dir, ledger)
    partitions += [f"{0xFEED0000 + i:016x}" for i in range(2)]  # workspaces new to the store
    service = Service(json_dir, db, workers=settings.workers, log=out / "service.log")
    try:
        service.wait_ready()
        timeline = Timeline()
        timeline.enter("json-only")
        load, stop, failure = _start_load(service.url, ledger, partitions, timeline, settings)
        steps = Operator(json_dir, db, out, timeline, service, _dwell(settings), echo=echo)
        steps.run(steps.script())
        stop.set()
        load.join()
        timeline.stop()
    finally:
        service.stop()
    result: LoadResult = failure["result"]
    final_phase = timeline.windows[-1][0]
    json_only_since = _json_only_since(timeline, json_dir)
    behind = ledger.answered_since(json_only_since)
    validation = _final_validation(out, json_dir, db, behind)
    verdicts = _verdicts(ledger, json_dir, db, final_phase, behind)
    summary = summarize(
        result.requests,
        timeline,
        verdicts,
        operator_failed=steps.failed or failure.get("error"),
        final_validation=validation,
        settings={
            "clients": settings.clients,
            "workers": settings.workers,
            "sessions": settings.sessions,
            "duration": settings.duration,
            "database": settings.database,
            "seed": settings.seed,
        },
    )
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    _write_requests(out / "requests.csv", result)
    draw(result.requests, summary, out / "latency.png")
    if echo:
        for window in summary["windows"]:
            print(window_line(window))
        for line in closing_lines(summary):
            print(line)
    return summary


def _fresh_stores(out: Path, settings: Settings) -> tuple[Path, str]:
    """The output folder's store and database, emptied of an earlier run's."""
    json_dir = out / "store"
    if json_dir.exists():
        shutil.rmtree(json_dir)
    db = settings.db
    if db is None:
        path = out / "app.db"
        for old in (path, path.with_name("app.db-wal"), path.with_name("app.db-shm")):
            old.unlink(missing_ok=True)
        db = str(path)
    for name in ("operator.log", "service.log"):
        (out / name).unlink(missing_ok=True)
    return json_dir, db


def _track_originals(json_dir: Path, ledger: Ledger) -> list[str]:
    """Every document of the generated store enters the ledger; the partitions."""
    store = JsonStore(json_dir, resolve("sessions"))
    for partition, doc in store.iter_documents():
        ledger.track(doc["id"], partition, doc)
    return store.partitions()


def _start_load(
    url: str, ledger: Ledger, partitions: list[str], timeline: Timeline, settings: Settings
) -> tuple[threading.Thread, threading.Event, dict[str, Any]]:
    """The load in a thread of its own (its own event loop); `box` gets its result or error."""
    stop = threading.Event()
    box: dict[str, Any] = {"result": LoadResult()}
    load_settings = LoadSettings(
        clients=settings.clients,
        think=settings.think,
        timeout=settings.timeout,
        seed=settings.seed,
        time_limit=settings.duration * 3 + 120,
    )

    def work() -> None:
        try:
            box["result"] = asyncio.run(
                run_load(url, ledger, partitions, timeline, load_settings, stop)
            )
        except Exception as exc:  # reported as the rehearsal's failure, never swallowed
            box["error"] = f"the load failed: {type(exc).__name__}: {exc}"

    thread = threading.Thread(target=work, name="load", daemon=True)
    thread.start()
    return thread, stop, box


def _dwell(settings: Settings) -> float:
    """Seconds each phase serves: the duration shared among the script's pauses (about 9)."""
    return max(1.0, settings.duration / 9)


def _json_only_since(timeline: Timeline, json_dir: Path) -> float:
    """When the move back to json-only took effect, as the phase file records it, less a
    margin for the two clocks (infinity when the rehearsal did not end in json-only): SQL
    receives no write from there on."""
    entered = read_phase(json_dir).entered_at()
    if len(timeline.windows) < 2 or timeline.windows[-1][0] != "json-only" or entered is None:
        return float("inf")
    return timeline.at(entered) - CLOCK_MARGIN_SECONDS


def _final_validation(out: Path, json_dir: Path, db: str, behind: set[str]) -> dict[str, Any]:
    """`migrator validate` once the load stopped: clean, except for documents written after
    the move back to json-only (SQL no longer receives writes then): those are expected."""
    summary_file = out / "validate-final.json"
    code = _run_migrator(
        out,
        "validate",
        "--quiet",
        "--format",
        "json",
        "--json-dir",
        str(json_dir),
        "--db",
        db,
        "--summary-file",
        str(summary_file),
        check=False,
    )
    if code not in (0, 1) or not summary_file.exists():
        return {"ok": False, "exit_code": code, "verdict": f"validate failed, exit {code}"}
    report = json.loads(summary_file.read_text())
    found = {
        f["id"]
        for kind in ("missing_in_sqlite", "missing_in_json", "mismatched")
        for f in report.get(kind, [])
        if isinstance(f, dict)
    }
    counts = report.get("counts", {})
    differences = sum(
        counts.get(k, 0)
        for k in ("missing_in_sqlite", "missing_in_json", "mismatched", "invalid_in_json")
    )
    unexplained = sorted(found - behind)
    ok = not unexplained and differences == len(found)
    verdict = (
        f"{counts.get('matched', 0)} matched, {differences} differ "
        f"({len(found & behind)} written after the move back to json-only, as expected; "
        f"{len(unexplained)} unexplained)"
    )
    return {
        "ok": ok,
        "exit_code": code,
        "verdict": verdict,
        "counts": counts,
        "expected_differences": len(found & behind),
        "unexplained": unexplained[:20],
    }


def _verdicts(
    ledger: Ledger, json_dir: Path, db: str, phase: str, behind: set[str]
) -> list[Verdict]:
    """Each store the final phase keeps up to date, read directly, against the ledger."""
    schema = resolve("sessions")
    verdicts = []
    if phase != "sqlite-only":
        docs: dict[str, Document] = {
            d["id"]: d for _, d in JsonStore(json_dir, schema).iter_documents()
        }
        verdicts.append(ledger.verify("JSON store", docs))
    if phase != "json-only" or behind is not None:
        sql = SqlStore(db, schema, create=False)
        try:
            docs = {d["id"]: d for _, d in sql.iter_documents()}
        finally:
            sql.close()
        skip = behind if phase == "json-only" else set()
        verdicts.append(ledger.verify("SQL store", docs, skip=skip))
    return verdicts


def _run_migrator(out: Path, *args: str, check: bool = True) -> int:
    with (out / "operator.log").open("a") as log:
        log.write(f"\n$ migrator {' '.join(map(redacted, args))}\n")  # no password
        log.flush()
        done = subprocess.run(
            [sys.executable, "-m", "migrator", *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=child_env(),
            check=False,
        )
    if check and done.returncode != 0:
        raise RuntimeError(f"migrator {args[0]} failed (exit {done.returncode}): see operator.log")
    return done.returncode


def _write_requests(path: Path, result: LoadResult) -> None:
    lines = ["op,window,start_s,end_s,status,problem"]
    for r in result.requests:
        problem = r.problem.replace('"', "'")
        lines.append(f'{r.op},{r.window},{r.start:.4f},{r.end:.4f},{r.status},"{problem}"')
    path.write_text("\n".join(lines) + "\n")


def parse(argv: Sequence[str] | None = None) -> Settings:
    parser = argparse.ArgumentParser(
        prog="python -m examples.rehearsal",
        description="Rehearse a live migration: the example service under load walks every "
        "phase and back; report in --out (summary.json, latency.png).",
    )
    parser.add_argument(
        "--duration",
        type=float,
        default=180.0,
        help="seconds of load, shared among the phases (default 180)",
    )
    parser.add_argument("--clients", type=int, default=20, help="concurrent clients (20)")
    parser.add_argument("--workers", type=int, default=3, help="service worker processes (3)")
    parser.add_argument(
        "--sessions", type=int, default=300, help="sessions in the generated legacy store (300)"
    )
    parser.add_argument(
        "--think",
        type=float,
        default=0.1,
        help="mean pause of a client between requests, seconds (0.1)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        help="seconds a client waits for an answer before counting a failure (60)",
    )
    parser.add_argument(
        "--db",
        default=None,
        help="a SQLite path or an empty PostgreSQL database's URL (default: <out>/app.db)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("rehearsal"),
        help="the report folder (default ./rehearsal)",
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if args.duration <= 0 or args.clients < 1 or args.workers < 2 or args.sessions < 1:
        parser.error("--duration, --clients and --sessions must be positive, --workers 2 or more")
    return Settings(
        out=args.out,
        db=args.db,
        duration=args.duration,
        clients=args.clients,
        workers=args.workers,
        sessions=args.sessions,
        think=args.think,
        timeout=args.timeout,
        seed=args.seed,
    )


def main(argv: Sequence[str] | None = None) -> int:
    summary = rehearse(parse(argv))
    return 0 if summary["ok"] else 1
