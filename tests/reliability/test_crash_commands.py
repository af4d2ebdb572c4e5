"""The other commands that write, killed at their renames: `migrator backup` (before and after
the backup directory is renamed into place), `migrator phase set` (its snapshot, the phase
file) and `migrator validate` (the validation it records in the phase file). After each kill
every state file parses, the phase is the old one or the new one, a backup is listed only
whole and verifying, and running the command again finishes the job."""

from __future__ import annotations

import json
import random
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from migrator.adapters.phase_state import Phase, PhaseState
from migrator.backup import default_backup_dir
from migrator.backup_retention import list_backups
from migrator.schemas.declaration import Schema
from tests.reliability import tally
from tests.reliability.harness import (
    KillPoint,
    Outcome,
    cli,
    migrator,
    run_all,
    run_child,
    unparsable_files,
    validation,
)


@dataclass(frozen=True)
class Scenario:
    command: str  # "backup", "phase set" or "validate"
    point: KillPoint

    @property
    def label(self) -> str:
        return f"{self.command} killed at {self.point.label}"


@pytest.fixture
def prepared(fixture_store_dir: Path, tmp_path: Path) -> tuple[Path, Path]:
    """The fixture store imported (json-only), as every scenario starts from (copied)."""
    db = tmp_path / "sessions.db"
    code, output = migrator("import", "--json-dir", str(fixture_store_dir), "--db", str(db))
    assert code == 0, output
    return fixture_store_dir, db


def _args(command: str, json_dir: Path, db: Path) -> list[str]:
    store = ["--json-dir", str(json_dir), "--db", str(db)]
    if command == "phase set":
        return ["phase", "set", "dual-write", *store]
    return [command, *store, *(["--quiet"] if command == "validate" else [])]


def _kill(root: Path, scenario: Scenario, prepared: tuple[Path, Path]) -> Outcome:
    json_dir, db = root / "json", root / "sessions.db"
    shutil.copytree(prepared[0], json_dir)
    shutil.copy(prepared[1], db)
    return run_child(cli(*_args(scenario.command, json_dir, db)), scenario.point)


def _recover_and_check(root: Path, scenario: Scenario, outcome: Outcome, schema: Schema) -> str:
    json_dir, db = root / "json", root / "sessions.db"
    if not outcome.killed and outcome.returncode != 0:
        return f"exit {outcome.returncode} on its own: {outcome.stderr[-1500:]}"
    problems = unparsable_files(json_dir)
    phase = PhaseState(json_dir).read().phase
    if phase not in (Phase.JSON_ONLY, Phase.DUAL_WRITE):
        problems.append(f"phase {phase} after the kill")
    backups = list_backups(default_backup_dir(json_dir))
    problems += [f"{b.path.name}: {b.problems}" for b in backups if b.problems]
    code, output = migrator(*_args(scenario.command, json_dir, db))
    if code != 0:
        return f"{'; '.join(problems)} re-run exit {code}: {output[-1500:]}"
    if scenario.command == "phase set" and PhaseState(json_dir).read().phase != Phase.DUAL_WRITE:
        problems.append("the re-run did not reach dual-write")
    code, listed = migrator("backups", "--json-dir", str(json_dir), "--format", "json")
    if code != 0 or (scenario.command != "validate" and not json.loads(listed)):
        problems.append(f"backups after the re-run: exit {code} {listed[-500:]}")
    if not validation(json_dir, db, schema).ok:
        problems.append("the stores no longer agree")
    problems += unparsable_files(json_dir)
    if outcome.killed:
        tally.kill_survived("commands")
    return "; ".join(problems)


def _scenarios(soak: bool, rng: random.Random) -> list[Scenario]:
    found = [
        Scenario("backup", KillPoint("backup.before_rename:1")),
        Scenario("backup", KillPoint("backup.after_rename:1")),
        Scenario("phase set", KillPoint("backup.after_rename:1")),
        Scenario("phase set", KillPoint("json.before_rename:1")),
        Scenario("validate", KillPoint("json.before_rename:1")),
    ]
    if soak:
        found += [
            Scenario("phase set", KillPoint(f"json.{when}_rename:{n}"))
            for when in ("before", "after")
            for n in (2, 3)
        ]
        found += [Scenario("validate", KillPoint("json.after_rename:1"))]
        found += [
            Scenario(command, KillPoint(delay=rng.uniform(0.2, 1.2)))
            for command in ("backup", "phase set", "validate")
            for _ in range(2)
        ]
    return found


def test_commands_killed_at_their_renames_then_run_again(
    tmp_path: Path, prepared: tuple[Path, Path], sessions_schema: Schema, soak: bool
) -> None:
    """backup, phase set and validate killed at each rename (and at random with --soak):
    nothing half-made is visible, and the re-run finishes."""
    seed = random.randrange(10**6)
    scenarios = _scenarios(soak, random.Random(seed))
    roots = [tmp_path / f"s{n}" for n in range(len(scenarios))]
    outcomes = run_all(
        [
            (lambda root=root, s=s: _kill(root, s, prepared))
            for root, s in zip(roots, scenarios, strict=True)
        ]
    )
    failures = [
        f"{scenario.label}: {problem}"
        for root, scenario, outcome in zip(roots, scenarios, outcomes, strict=True)
        if (problem := _recover_and_check(root, scenario, outcome, sessions_schema))
    ]
    killed = sum(o.killed for o in outcomes)
    print(f"command kill points: {killed} of {len(scenarios)} runs killed (seed {seed})")
    assert not failures, "\n".join(failures)
    assert killed >= 5


def test_backup_killed_before_its_rename_is_not_listed(
    tmp_path: Path, prepared: tuple[Path, Path]
) -> None:
    """Killed before the rename, a backup is a hidden build directory that `backups` does not
    list; killed after it, the backup is whole and verifies."""
    for point, listed in (("backup.before_rename:1", 0), ("backup.after_rename:1", 1)):
        root = tmp_path / point.split(":")[0]
        outcome = _kill(root, Scenario("backup", KillPoint(point)), prepared)
        assert outcome.killed, outcome.stderr
        out = default_backup_dir(root / "json")
        backups = list_backups(out)
        assert len(backups) == listed and all(b.problems == [] for b in backups)
        assert len(list(out.glob(".tmp-*"))) == 1 - listed
