"""The processes the suites start beside a test: an application writing through
`migrator.open_store` (one KIND per workload) and a runner of several CLI commands in one
interpreter. Not collected; run as

    python -m tests.writers KIND ARGS...

Tests build the command line with `writer_command(KIND, *args)` and start it with `child_env()`,
which puts the repository on PYTHONPATH (so `tests` and this checkout's `migrator` are imported,
with no `sys.path` edits) and sets or clears the crash point (`MIGRATOR_CRASH_AT`).

KINDS (each one's docstring says its arguments and what it prints):
  rounds    own, first and shared documents for COUNT rounds     (tests/dual_write)
  rewrite   rewrite named documents until told to stop           (tests/live, tests/recovery)
  workload  a seeded plan of puts and deletes, `done I` after each (tests/reliability crashes)
  busy      rounds until told to stop, with the phase seen       (tests/reliability concurrency)
  counter   random documents carrying a round counter            (tests/importer dual-write import)
  fill      SQL-only puts of large documents, forever            (tests/safety and postgres backups)
  commands  several `migrator` commands, one JSON result list    (tests/reliability hostile input)
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import sys
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
#: Separates the commands given to `commands`.
SEPARATOR = ":::"


def writer_command(kind: str, *args: object) -> list[str]:
    """The argv that runs writer KIND with ARGS (each turned into a string)."""
    if kind not in KINDS:
        raise ValueError(f"no writer kind {kind!r}; one of {sorted(KINDS)}")
    return [sys.executable, "-m", "tests.writers", kind, *map(str, args)]


def child_env(crash_at: str | None = None) -> dict[str, str]:
    """This environment with the repository importable and the crash point set or cleared."""
    env = dict(os.environ)
    env.pop("MIGRATOR_CRASH_AT", None)
    if crash_at is not None:
        env["MIGRATOR_CRASH_AT"] = crash_at
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [env.get("PYTHONPATH")])])
    return env


# --------------------------------------------------------------------------- the kinds


def rounds(args: list[str]) -> None:
    """JSON_DIR DB NAME COUNT [--shared K]: COUNT rounds, each putting a document of its own
    (`NAME-i`, into the partitions in turn), updating `NAME-0` again and, with `--shared`,
    its version of one of K documents every writer shares; every 5th own document is deleted
    again. Prints, as JSON, id -> the last version it wrote (its `task`), or null if deleted."""
    from migrator.adapters.dual_write import open_store
    from tests.dual_write.conftest import PARTITIONS, session

    json_dir, db, name, count = args[0], args[1], args[2], int(args[3])
    shared = int(args[5]) if len(args) > 5 and args[4] == "--shared" else 0
    expected: dict[str, str | None] = {}
    with open_store(json_dir, db) as store:
        for i in range(count):
            own = session(f"{name}-{i}", version=i)
            store.put(PARTITIONS[i % len(PARTITIONS)], own)
            expected[own["id"]] = own["task"]
            first = session(f"{name}-0", version=1000 + i)
            store.put(PARTITIONS[0], first)
            expected[first["id"]] = first["task"]
            if shared:
                store.put(PARTITIONS[1], session(f"shared-{i % shared}", version=i, model=name))
            if i % 5 == 4:
                assert store.delete(own["id"]), own["id"]
                expected[own["id"]] = None
    print(json.dumps(expected))


#: `rewrite` never outlives a test that died without stopping it by more than this.
REWRITE_LIFETIME = 120.0


def rewrite(args: list[str]) -> None:
    """JSON_DIR DB READY_FILE STOP_FILE PARTITION:ID...: rewrites the documents in turn (in
    whatever phase the stores are), each with `updated_at` now and `task` `rewritten N` for
    write N, as a live application does. Touches READY_FILE once each was written once; stops
    when STOP_FILE exists (or after REWRITE_LIFETIME) and prints how many writes it made. A
    write refused while the phase is unknown (`PhaseUnknownError`) is not acknowledged: it
    waits and tries the same write again, as an application retrying a failed request."""
    from migrator.adapters.dual_write import open_store
    from migrator.errors import PhaseUnknownError

    json_dir, db, ready, stop = args[0], args[1], Path(args[2]), Path(args[3])
    targets = [arg.split(":", 1) for arg in args[4:]]
    writes = 0
    deadline = time.monotonic() + REWRITE_LIFETIME
    with open_store(json_dir, db) as store:
        while not stop.exists() and time.monotonic() < deadline:
            partition, doc_id = targets[writes % len(targets)]
            try:
                doc = store.get(doc_id)
                assert doc is not None, doc_id
                now = datetime.now(UTC).isoformat(timespec="microseconds")
                doc["updated_at"] = now.replace("+00:00", "Z")
                doc["task"] = f"rewritten {writes}"
                store.put(partition, doc)
            except PhaseUnknownError:
                time.sleep(0.02)
                continue
            writes += 1
            if writes % len(targets) == 0:
                ready.touch()
    print(writes)


def workload(args: list[str]) -> None:
    """JSON_DIR DB SEED COUNT READY_FILE: opens the store, creates READY_FILE, then makes the
    operations of `workload.plan(SEED, COUNT)` in order, printing `done I` (flushed) after each
    returns: whatever kills it, the test reads how far it got."""
    import migrator
    from tests.reliability.workload import document, plan

    json_dir, db, seed, count, ready = args[:5]
    with migrator.open_store(json_dir, db) as store:
        Path(ready).touch()
        for index, op in enumerate(plan(int(seed), int(count))):
            if op.kind == "put":
                store.put(op.partition, document(op.doc_id, op.version))
            else:
                assert store.delete(op.doc_id), op
            print(f"done {index}", flush=True)


def busy(args: list[str]) -> None:
    """JSON_DIR DB NAME STOP_FILE MAX_ROUNDS MAX_SECONDS: round after round until STOP_FILE
    exists (or the limits pass), puts `NAME-i`, rewrites `NAME-0`, puts its version of one of
    three shared documents, deletes every fifth own document again. Prints one JSON object:
    `expected` (id -> the task it last wrote, null if deleted) and `phases` (seen each round)."""
    import migrator
    from tests.reliability.workload import PARTITIONS
    from tests.schemas.samples import session

    json_dir, db, name, stop = args[:4]
    max_rounds, deadline = int(args[4]), time.monotonic() + float(args[5])
    expected: dict[str, str | None] = {}
    phases: list[str] = []
    with migrator.open_store(json_dir, db) as store:
        for i in range(max_rounds):
            if Path(stop).exists() or time.monotonic() > deadline:
                break
            own = session(f"{name}-{i}", task=f"{name} round {i}")
            store.put(PARTITIONS[i % len(PARTITIONS)], own)
            expected[own["id"]] = own["task"]
            first = session(f"{name}-0", task=f"{name}-0 rewritten in round {i}")
            store.put(PARTITIONS[0], first)
            expected[first["id"]] = first["task"]
            store.put(PARTITIONS[1], session(f"shared-{i % 3}", task=f"{name} round {i}"))
            if i % 5 == 4:
                assert store.delete(own["id"]), own["id"]
                expected[own["id"]] = None
            phases.append(str(store.phase))
    print(json.dumps({"expected": expected, "phases": phases}))


#: `counter`: documents updated per round, and its limits.
COUNTER_PER_ROUND = 6
COUNTER_MAX_ROUNDS = 5000
COUNTER_MAX_SECONDS = 90.0


def versioned(doc_id: str, counter: int) -> dict[str, object]:
    """Version `counter` of a `counter` document (what the test expects, newest wins)."""
    from tests.schemas.samples import session

    return session(doc_id, task=f"counter {counter}", timeout_seconds=counter)


def counter(args: list[str]) -> None:
    """JSON_DIR DB STARTED STOP SEED PAUSE IDS_FILE: round i = 1, 2, ... until STOP exists (or
    the limits pass), puts version i of a few documents of IDS_FILE (JSON: id -> partition)
    chosen by a seeded generator, and every tenth round a new document; touches STARTED after
    round 1, sleeps PAUSE seconds between rounds. Prints one JSON object: `last` (id ->
    [partition, the highest counter it wrote]) and `rounds`."""
    import migrator

    json_dir, db, started, stop, seed, pause, ids_file = args[:7]
    hot: dict[str, str] = json.loads(Path(ids_file).read_text())
    rng = random.Random(int(seed))
    names = sorted(hot)
    last: dict[str, tuple[str, int]] = {}
    deadline = time.monotonic() + COUNTER_MAX_SECONDS
    done = 0
    with migrator.open_store(json_dir, db) as store:
        for n in range(1, COUNTER_MAX_ROUNDS + 1):
            if Path(stop).exists() or time.monotonic() > deadline:
                break
            for doc_id in rng.sample(names, COUNTER_PER_ROUND):
                store.put(hot[doc_id], versioned(doc_id, n))
                last[doc_id] = (hot[doc_id], n)
            if n % 10 == 0:
                doc_id, partition = f"new-{n}", hot[rng.choice(names)]
                store.put(partition, versioned(doc_id, n))
                last[doc_id] = (partition, n)
            done = n
            if n == 1:
                Path(started).touch()
            time.sleep(float(pause))
    print(json.dumps({"last": last, "rounds": done}))


def fill(args: list[str]) -> None:
    """DB PROGRESS_FILE: puts documents `w-000000`, `w-000001`, ... (a 2,000-character task,
    one 500-character message) straight into the SQL store, forever, writing how many it put
    to PROGRESS_FILE after each; the test kills it."""
    from migrator.adapters.sql_store import SqlStore
    from migrator.schemas.registry import resolve

    db, progress = args[0], Path(args[1])
    store = SqlStore(db, resolve("sessions"))
    n = 0
    while True:
        doc = {
            "id": f"w-{n:06d}", "type": "debate", "task": "x" * 2000, "status": "running",
            "created_at": "2025-01-01T00:00:00Z", "updated_at": f"{n}",
            "instances": [], "chat_history": [
                {"id": f"m-{n:06d}", "role": "user", "content": "y" * 500,
                 "timestamp": "2025-01-01T00:00:00Z"}
            ],
        }  # fmt: skip
        store.put(f"part{n % 4}", doc)
        n += 1
        progress.write_text(str(n))


def commands(args: list[str]) -> None:
    """COMMAND ARGS [::: COMMAND ARGS]...: each command through the CLI's entry point
    (`migrator.cli.main`) with its output captured, one after the other in this interpreter
    (one start-up per case instead of one per command). Prints one JSON list of {"args",
    "code", "stdout", "stderr"}; an exception escaping a command is printed as the traceback
    the user would see."""
    from migrator.cli import main as migrator_main

    runs: list[list[str]] = [[]]
    for arg in args:
        if arg == SEPARATOR:
            runs.append([])
        else:
            runs[-1].append(arg)
    real_stdout = sys.stdout
    results = []
    for run in runs:
        print(f"running migrator {run[0]}", file=sys.__stderr__, flush=True)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = migrator_main(run)
            except BaseException:  # what would reach the user as a traceback
                traceback.print_exc()
                code = 1
        results.append(
            {"args": run, "code": code, "stdout": out.getvalue(), "stderr": err.getvalue()}
        )
    print(json.dumps(results), file=real_stdout)


KINDS: dict[str, Callable[[list[str]], Any]] = {
    "rounds": rounds,
    "rewrite": rewrite,
    "workload": workload,
    "busy": busy,
    "counter": counter,
    "fill": fill,
    "commands": commands,
}


def main(argv: list[str]) -> None:
    if not argv or argv[0] not in KINDS:
        sys.exit(f"usage: python -m tests.writers {{{','.join(KINDS)}}} ARGS...")
    KINDS[argv[0]](argv[1:])


if __name__ == "__main__":
    main(sys.argv[1:])
