"""Issue 20 point 5, found from outside: a user without the permission a verb needs gets one
error of the tree, never a PermissionError. Root ignores file modes, so each case runs in a
forked child that has given up root for `nobody` (the modules it needs imported before the
fork: the interpreter's own folder may be closed to `nobody`)."""

from __future__ import annotations

import os
import pickle
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import migrator
from migrator.errors import MigratorError

NOBODY = 65534


def as_nobody(call: Callable[[], object]) -> str:
    """Run `call` in a child process as `nobody` (or as this user, when not root): "ok", or
    the class and message of what it raised."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(read_end)
        try:
            if os.getuid() == 0:
                os.setgroups([])
                os.setgid(NOBODY)
                os.setuid(NOBODY)
            call()
            outcome = ("ok", "")
        except BaseException as exc:
            kind = "MigratorError" if isinstance(exc, MigratorError) else type(exc).__name__
            outcome = (kind, str(exc))
        os.write(write_end, pickle.dumps(outcome))
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    kind, message = pickle.loads(data)
    return kind if kind == "ok" else f"{kind}: {message}"


@pytest.fixture
def shared(fixture_store_dir: Path) -> Iterator[Path]:
    """A folder `nobody` may enter (pytest's own are private to root): the fixture store,
    imported and backed up, all owned by root and closed to others where it says so."""
    folder = Path(tempfile.mkdtemp(prefix="migrator-perm-"))
    folder.chmod(0o755)
    shutil.copytree(fixture_store_dir, folder / "store")
    migrator.import_store(folder / "store", folder / "app.db")
    migrator.create_backup(folder / "store", folder / "app.db")
    migrator.list_backups(folder / "store" / ".migrator" / "backups")  # imports what it needs
    yield folder
    shutil.rmtree(folder)


def test_listing_backups_nobody_may_read(shared: Path) -> None:
    backups = shared / "store" / ".migrator" / "backups"
    backups.chmod(0o700)
    assert as_nobody(lambda: migrator.list_backups(backups)) == (
        f"MigratorError: {backups}: cannot list the backups: Permission denied"
    )


def test_restoring_a_backup_nobody_may_read(shared: Path) -> None:
    """The stores are nobody's (so the restore takes its locks), the backups root's alone."""
    for path in [shared / "app.db", *(shared / "store").rglob("*"), shared / "store"]:
        os.chown(path, NOBODY, NOBODY)
    backups = shared / "store" / ".migrator" / "backups"
    for path in [backups, *backups.rglob("*")]:
        os.chown(path, 0, 0)
    backups.chmod(0o700)
    (backup,) = [p for p in backups.iterdir() if p.is_dir()]
    outcome = as_nobody(
        lambda: migrator.restore_backup(backup, shared / "store", shared / "app.db", snapshot=False)
    )
    assert outcome == f"MigratorError: {backup}: cannot read the backup: Permission denied"


def test_generating_into_a_folder_nobody_may_write(shared: Path) -> None:
    closed = shared / "closed"
    closed.mkdir(mode=0o755)
    from migrator.schemas.registry import resolve

    sessions = resolve("sessions")
    outcome = as_nobody(
        lambda: migrator.generate_store(closed / "out", sessions=2, schema=sessions)
    )
    out = closed / "out"
    assert outcome == f"MigratorError: out_dir {out}: cannot create it: Permission denied"
