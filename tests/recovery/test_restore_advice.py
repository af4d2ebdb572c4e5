"""Issue 15, findings 2 and 3: a restore knows what it replaces. `restore --json` of a backup
taken in sqlite-only is refused where the application reads JSON; restoring an older database
in sqlite-primary makes JSON (which holds the newer writes) primary again, and its printed
next steps bring SQL level without losing any of those writes."""

from __future__ import annotations

import shlex
from pathlib import Path

import migrator
from migrator.adapters.phase_state import Phase, PhaseState
from tests.live.conftest import P1, P2, Live, sid, stamp
from tests.recovery.conftest import canonical, json_documents, sql_documents

EMPTY = {"instances": [], "chat_history": []}


def _ok(live: Live, *args: str) -> str:
    result = live.cli(*args)
    assert result.exit_code == 0, (args, result.output)
    return result.stdout


def _forward(live: Live, to: Phase) -> None:
    _ok(live, "phase", "set", "dual-write")
    if to is Phase.DUAL_WRITE:
        return
    _ok(live, "validate")
    _ok(live, "phase", "set", "sqlite-primary")
    if to is Phase.SQLITE_ONLY:
        _ok(live, "phase", "set", "sqlite-only")


def _backup(live: Live) -> Path:
    out = live.json_dir.parent / "backups"
    _ok(live, "backup", "--out", str(out))
    (folder,) = out.iterdir()
    return folder


def run_hints(live: Live, output: str, prefix: str = "next: ") -> list[str]:
    """Run every `next:` command of `output` through the CLI, in order; the commands run."""
    ran = []
    for line in output.splitlines():
        if not line.startswith(prefix):
            continue
        words = shlex.split(line.removeprefix(prefix))
        assert words[0] == "migrator", line
        snapshots = words[1] in ("import", "repair", "restore", "phase")
        _ok(live, *words[1:], *(["--no-snapshot"] if snapshots else []))
        ran.append(line)
    return ran


def test_restore_json_of_a_sqlite_only_backup_is_refused_in_dual_write(live: Live) -> None:
    """The backup's JSON snapshot holds no partition file, its database 36 documents: back in
    dual-write, `restore --json` is refused (exit 2, counts said) and changes nothing; the
    database alone restores, and its next steps keep every document."""
    _forward(live, Phase.SQLITE_ONLY)
    folder = _backup(live)
    _ok(live, "phase", "set", "dual-write")
    json_before = canonical(json_documents(live.json_dir, live.schema))
    assert len(json_before) == 36
    refused = live.cli("restore", str(folder), "--json", "--yes")
    assert refused.exit_code == 2, refused.output
    assert "lacks 36 document(s)" in refused.stderr
    assert canonical(json_documents(live.json_dir, live.schema)) == json_before
    output = _ok(live, "restore", str(folder), "--yes")
    assert run_hints(live, output)
    assert canonical(json_documents(live.json_dir, live.schema)) == json_before
    assert canonical(sql_documents(live.db, live.schema)) == json_before


def test_an_older_database_restored_in_sqlite_primary_keeps_the_newer_writes(
    live: Live,
) -> None:
    """Writes made in sqlite-primary after the backup (an update, a new document, a delete)
    survive a restore of the older database and its printed next steps: JSON is primary again
    and SQL ends level with it."""
    _forward(live, Phase.SQLITE_PRIMARY)
    folder = _backup(live)
    with migrator.open_store(live.json_dir, live.db) as app:
        app.put(P1, live.doc(sid(0, 1)) | {"updated_at": stamp(), "task": "after the backup"})
        app.put(P1, live.doc(sid(0, 1)) | {"id": "after-backup", "updated_at": stamp(), **EMPTY})
        assert app.delete(sid(1, 2))
    expected = canonical(sql_documents(live.db, live.schema))
    output = _ok(live, "restore", str(folder), "--yes")
    assert "sqlite-primary -> dual-write" in output
    assert PhaseState(live.json_dir).read().phase is Phase.DUAL_WRITE
    assert run_hints(live, output)
    assert canonical(json_documents(live.json_dir, live.schema)) == expected
    assert canonical(sql_documents(live.db, live.schema)) == expected
    with migrator.open_store(live.json_dir, live.db) as app:
        assert app.get(sid(0, 1))["task"] == "after the backup"  # type: ignore[index]
        assert app.get(sid(1, 2)) is None


def test_a_pending_sql_write_does_not_copy_the_older_version_over_json(live: Live) -> None:
    """A journal entry whose primary was SQL points at a version the restore replaced: it is
    closed, so `repair` (the first next step) does not copy the older restored version over
    JSON's newer one."""
    _forward(live, Phase.SQLITE_PRIMARY)
    folder = _backup(live)
    newer = live.doc(sid(1, 3)) | {"updated_at": stamp(), "task": "newer, in JSON"}
    with migrator.open_store(live.json_dir, live.db) as app:
        app.put(P2, newer)
    from migrator.adapters.journal import Journal, Side, revision_of

    journal = Journal(live.json_dir)
    journal.begin("put", sid(1, 3), P2, Side.SQL, revision_of(newer))
    output = _ok(live, "restore", str(folder), "--yes")
    assert "closed 1 pending repair" in output
    run_hints(live, output)
    assert json_documents(live.json_dir, live.schema)[sid(1, 3)]["task"] == "newer, in JSON"
    assert sql_documents(live.db, live.schema)[sid(1, 3)]["task"] == "newer, in JSON"
