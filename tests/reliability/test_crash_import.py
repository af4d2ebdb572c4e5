"""`migrator import` killed anywhere: a real import process is SIGKILLed before and after its
N-th commit (for many N) and at random moments, on a first import and on a re-import of
edited files; then the same command runs again. Afterwards the database holds exactly the
valid documents of the files (none lost, none twice, none stale), every file carries its
import mark, the validator finds the stores equal and every JSON file parses."""

from __future__ import annotations

import random
import shutil
from dataclasses import dataclass
from pathlib import Path

from migrator.adapters.json_store import JsonStore
from migrator.adapters.sql_store import SqlStore
from migrator.schemas.codec import canonical_bytes
from migrator.schemas.declaration import Schema
from tests.importer.conftest import valid_documents
from tests.reliability import tally
from tests.reliability.harness import (
    KillPoint,
    Outcome,
    cli,
    documents,
    duplicated,
    lost,
    migrator,
    run_all,
    run_child,
    unparsable_files,
    validation,
)

#: Documents per transaction: small, so a run makes a few dozen commits to be killed at.
BATCH = "12"


@dataclass(frozen=True)
class Scenario:
    point: KillPoint
    #: Import once before, then edit the files: the killed run is a re-import with --prune.
    reimport: bool = False

    @property
    def label(self) -> str:
        return f"{'re-import' if self.reimport else 'import'} killed at {self.point.label}"


def _args(json_dir: Path, db: Path, *extra: str) -> list[str]:
    return ["import", "--json-dir", str(json_dir), "--db", str(db), "--quiet", *extra]


def _edit(json_dir: Path, schema: Schema) -> None:
    """Change, add, move and remove documents in three files."""
    store = JsonStore(json_dir, schema)
    for partition in store.partitions()[:3]:
        docs = store.read_partition(partition)
        docs[0]["task"] = f"edited in {partition}"
        moved = docs.pop(1)
        moved["id"] += "-new"
        for message in moved.get("chat_history", []):
            message["id"] += "-new"
        del docs[2]
        store.write_partition(partition, [*docs, moved])


def _kill_import(root: Path, scenario: Scenario, source: Path, schema: Schema) -> Outcome:
    json_dir, db = root / "json", root / "sessions.db"
    shutil.copytree(source, json_dir)
    extra: tuple[str, ...] = ("--batch-size", BATCH)
    if scenario.reimport:  # a child process: this runs in a worker thread, CliRunner cannot
        first = run_child(cli(*_args(json_dir, db)), KillPoint())
        assert first.returncode == 0, first.stderr
        _edit(json_dir, schema)
        extra += ("--prune",)
    return run_child(cli(*_args(json_dir, db, *extra)), scenario.point, ready=db.exists)


def _recover_and_check(root: Path, scenario: Scenario, outcome: Outcome, schema: Schema) -> str:
    json_dir, db = root / "json", root / "sessions.db"
    if not outcome.killed and outcome.returncode != 0:
        return f"import failed on its own (exit {outcome.returncode}): {outcome.stderr[-1500:]}"
    prune = ("--prune",) if scenario.reimport else ()
    code, output = migrator(*_args(json_dir, db, "--batch-size", BATCH, *prune))
    if code != 0:
        return f"re-run exit {code}: {output[-1500:]}"
    problems = []
    json_store = JsonStore(json_dir, schema)
    sql = SqlStore(db, schema, create=False)
    try:
        expected = valid_documents(json_store)
        found = documents(sql)
        missing = lost(expected, found)
        tally.documents_lost(len(missing))
        problems += [f"{i} lost or stale" for i in missing]
        problems += [f"{i} stored twice" for i in duplicated(found)]
        problems += [f"{i} not in any file" for i in sorted(set(found) - set(expected))]
        unmarked = set(json_store.partitions()) - set(sql.import_marks())
        problems += [f"partition {p} has no import mark" for p in sorted(unmarked)]
    finally:
        sql.close()
    report = validation(json_dir, db, schema)
    if not report.ok:
        problems.append(f"validation: {report.to_dict()['counts']}")
    problems += unparsable_files(json_dir)
    if outcome.killed:
        tally.kill_survived("import")
    return "; ".join(problems)


def _scenarios(soak: bool, rng: random.Random) -> list[Scenario]:
    nths = range(1, 16) if soak else (2, 9)
    found = [
        Scenario(KillPoint(f"{name}:{n}"))
        for n in nths
        for name in ("sql.before_commit", "sql.after_commit")
    ]
    found += [
        Scenario(KillPoint(f"sql.after_commit:{n}"), reimport=True)
        for n in ((1, 2, 3, 5) if soak else (2,))
    ]
    found += [Scenario(KillPoint(delay=rng.uniform(0.0, 1.0))) for _ in range(8 if soak else 1)]
    return found


def test_import_killed_anywhere_then_rerun_loses_nothing(
    tmp_path: Path, import_source: Path, sessions_schema: Schema, soak: bool
) -> None:
    """Killed at many commits and moments, the next run ends as an uninterrupted one would."""
    seed = random.randrange(10**6)
    scenarios = _scenarios(soak, random.Random(seed))
    roots = [tmp_path / f"s{n}" for n in range(len(scenarios))]
    outcomes = run_all(
        [
            (lambda root=root, s=s: _kill_import(root, s, import_source, sessions_schema))
            for root, s in zip(roots, scenarios, strict=True)
        ]
    )
    failures = []
    for root, scenario, outcome in zip(roots, scenarios, outcomes, strict=True):
        problem = _recover_and_check(root, scenario, outcome, sessions_schema)
        if problem:
            failures.append(f"{scenario.label}: {problem}")
    killed = sum(o.killed for o in outcomes)
    print(f"import kill points: {killed} of {len(scenarios)} runs killed (seed {seed})")
    assert not failures, "\n".join(failures)
    assert killed >= (30 if soak else 5), f"only {killed} imports were killed (seed {seed})"


def test_reimport_kill_keeps_no_stale_version(
    tmp_path: Path, import_source: Path, sessions_schema: Schema
) -> None:
    """Killed after its first commit, a re-import has replaced some documents and not others;
    the next run brings every edited document to its new version and removes the old ids."""
    scenario = Scenario(KillPoint("sql.after_commit:1"), reimport=True)
    outcome = _kill_import(tmp_path, scenario, import_source, sessions_schema)
    assert outcome.killed, outcome.stderr
    json_store = JsonStore(tmp_path / "json", sessions_schema)
    sql = SqlStore(tmp_path / "sessions.db", sessions_schema, create=False)
    try:
        edited = {
            doc["id"]: canonical_bytes(doc)
            for partition in json_store.partitions()[:3]
            for doc in json_store.list(partition)
        }
        stored = {i: sql.get(i) for i in edited}
    finally:
        sql.close()
    stale = [
        i for i, doc in stored.items() if doc is not None and canonical_bytes(doc) != edited[i]
    ]
    assert stale, "the kill should have left edited documents at their old version"
    assert _recover_and_check(tmp_path, scenario, outcome, sessions_schema) == ""
