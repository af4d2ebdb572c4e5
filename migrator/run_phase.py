"""The phase moves and `repair` on paths, under the run protocol: the verbs `migrator phase
set`, `migrator phase recover`, `migrator repair` and their Python names call.

A move records its run, refuses an unknown phase before anything else, says so when it must
wait for a running import (which holds the phase lock to its end), snapshots the stores
(`before-phase-<target>`) and moves; the phase lock and the partition locks are taken by the
move itself (`migrator.phases`). A repair snapshots (`before-repair`) and replays the journal;
a dry run of it records nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypedDict, Unpack

from migrator.adapters.phase_state import Phase, PhaseState
from migrator.journal_replay import RepairReport
from migrator.phase_recover import Recovery
from migrator.phases import PhaseChange
from migrator.run_protocol import Notice, Snapshot, log_notice, verb_run
from migrator.schemas.declaration import Schema


class MoveOptions(TypedDict, total=False):
    """How `set_phase` moves: `force` (default False) moves even though a guard fails (recorded
    as a warning); `snapshot` (default True) backs the stores up first; `notice` gets what a
    person should see (default: the log)."""

    force: bool
    snapshot: bool
    notice: Notice


def set_phase(
    json_dir: Path | str,
    db: str | Path,
    schema: str | Schema,
    target: Phase | str,
    **options: Unpack[MoveOptions],
) -> PhaseChange:
    """Move the stores to `target` (the rules: `migrator.phases`; the options: `MoveOptions`)."""
    from migrator import phases
    from migrator.import_lock import running_import

    root = Path(json_dir)
    with verb_run("phase set", root) as run:
        parsed = Phase.parse(target) if isinstance(target, str) else target
        if (pid := running_import(root)) is not None:  # it holds the phase lock to its end
            options.get("notice", log_notice)(
                f"waiting for the running import (pid {pid}) to finish..."
            )
        # The move's own lock (reentrant) first: the snapshot is then of the stores as the move
        # finds them, and a move that cannot take the lock takes none.
        with PhaseState(root).lock():
            if options.get("snapshot", True):
                run.take(Snapshot(f"phase-{parsed}", db, schema))
            return phases.set_phase(root, db, schema, parsed, force=options.get("force", False))


class RecoverOptions(TypedDict, total=False):
    """`migrator.phase_recover.recover_phase`'s options: `phase` names the phase when the
    evidence cannot; `force` records it even against the evidence."""

    phase: Phase | str | None
    force: bool


def recover_phase(
    json_dir: Path | str,
    db: str | Path,
    schema: str | Schema = "sessions",
    **options: Unpack[RecoverOptions],
) -> Recovery:
    """Work out and record the phase when its file is missing or damaged (the rules:
    `migrator.phase_recover`), recorded in the history."""
    from migrator import phase_recover

    with verb_run("phase recover", Path(json_dir)):
        return phase_recover.recover_phase(json_dir, db, schema, **options)


class RepairOptions(TypedDict, total=False):
    """How `repair` runs: `dry_run` (default False) reports the plan, changes nothing and
    records nothing; `snapshot` (default True) backs the stores up first."""

    dry_run: bool
    snapshot: bool


def repair(
    json_dir: Path | str,
    db: str | Path,
    schema: str | Schema = "sessions",
    **options: Unpack[RepairOptions],
) -> RepairReport:
    """Replay the journal's pending writes so both stores agree (the rules:
    `migrator.journal_replay`; the options: `RepairOptions`)."""
    from migrator.adapters.json_store import JsonStore
    from migrator.journal_replay import replay_journal
    from migrator.schemas.registry import resolve

    dry_run = options.get("dry_run", False)
    take_snapshot = options.get("snapshot", True) and not dry_run
    with verb_run(
        "repair",
        Path(json_dir),
        # Only a repair with something to replay snapshots: a cron'd one finding nothing must
        # not fill the snapshots' retention and push out those worth keeping.
        snapshot=Snapshot("repair", db, schema, deferred=True) if take_snapshot else None,
        record=not dry_run,
    ) as run:
        store = JsonStore(json_dir, resolve(schema))
        report = replay_journal(store, db, dry_run=dry_run, before_write=run.before_write)
        run.record.outcome = "ok" if report.ok else "error"
        run.record.counts = dict(report.counts)
    return report
