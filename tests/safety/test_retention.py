"""Issue 15, finding 10: backup retention that meets a backup it cannot delete (another user's,
a symbolic link) leaves it in place with a warning, instead of a traceback after the new backup
was written that also stopped every command snapshotting first."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

import pytest

from migrator.backup import create_backup, default_backup_dir
from tests.safety.conftest import Setup


def _old_backups(setup: Setup, n: int) -> list[Path]:
    return [create_backup(setup.json_dir, setup.db, setup.schema).path for _ in range(n)]


def test_a_symlinked_backup_is_left_alone_and_the_step_goes_on(
    setup: Setup, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A link among the snapshots beyond `keep`: the new snapshot is written and returned, the
    link and what it points to are left alone, a warning says so."""
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(_old_backups(setup, 1)[0], elsewhere)
    backups = default_backup_dir(setup.json_dir)
    link = backups / "20000101T000000.000000Z-before-import"
    link.symlink_to(elsewhere, target_is_directory=True)
    with caplog.at_level(logging.WARNING):
        made = create_backup(setup.json_dir, setup.db, setup.schema, reason="before-x", keep=1)
    assert made.path.is_dir() and made.pruned == ()
    assert link.is_symlink() and (elsewhere / "manifest.json").exists()
    assert "is a symbolic link; left in place" in caplog.text


def test_a_backup_that_cannot_be_removed_is_warned_about(
    setup: Setup, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """rmtree refused (permission): a warning names it, the others are pruned as usual."""
    old = _old_backups(setup, 3)
    real_rmtree = shutil.rmtree

    def refuse(path: Any, *args: Any, **kwargs: Any) -> None:
        if Path(path) == old[0]:
            raise PermissionError(13, "Permission denied", str(path))
        real_rmtree(path, *args, **kwargs)

    monkeypatch.setattr(shutil, "rmtree", refuse)
    with caplog.at_level(logging.WARNING):
        result = create_backup(setup.json_dir, setup.db, setup.schema, keep=1)
    assert set(result.pruned) == {old[1], old[2]}
    assert old[0].is_dir() and not old[1].exists()
    assert f"cannot remove {old[0]}" in caplog.text
