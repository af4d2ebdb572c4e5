"""Which backups exist and which to keep: manual backups and automatic snapshots are counted
apart, so frequent snapshots never push out a backup someone took on purpose."""

from __future__ import annotations

import contextlib
import logging
import re
import shutil
import time
from collections.abc import Iterable
from pathlib import Path

from migrator.backup_manifest import BackupInfo, load_manifest, verify_backup
from migrator.errors import BackupError

logger = logging.getLogger(__name__)

_NAME = re.compile(r"\d{8}T\d{6}\.\d{6}Z-[a-z0-9-]+(-\d+)?")
#: A temporary build directory older than this is a crashed backup's, removed by retention.
_STALE_SECONDS = 24 * 3600


def list_backups(out_dir: Path, *, verify: bool = True) -> list[BackupInfo]:
    """The backups in `out_dir`, newest first, each checked against its manifest if `verify`."""
    found = []
    for path in _backup_dirs(out_dir):
        try:
            manifest = load_manifest(path)
        except BackupError as exc:
            found.append(BackupInfo(path, None, [str(exc)]))
            continue
        found.append(BackupInfo(path, manifest, verify_backup(path, manifest) if verify else None))
    return found


def prune_backups(out_dir: Path, keep: int, *, protect: Iterable[Path] = ()) -> list[Path]:
    """Keep the newest `keep` manual backups and, apart, the newest `keep` automatic snapshots
    (so frequent snapshots never push out a backup someone took on purpose); never remove
    those in `protect`. Also removes crashed builds older than a day. What cannot be removed
    (another user's backup, a symbolic link) is left in place with a warning: retention runs
    after a new backup is written, and must not fail the step that took it."""
    kept = {p.resolve() for p in protect}
    pruned = []
    backups = _backup_dirs(out_dir)
    for automatic in (False, True):
        group = [p for p in backups if _is_snapshot(p) is automatic]
        for path in group[keep:]:
            if path.resolve() not in kept and _removed(path):
                pruned.append(path)
    for stale in out_dir.glob(".tmp-*"):
        with contextlib.suppress(OSError):
            if time.time() - stale.stat().st_mtime > _STALE_SECONDS:
                shutil.rmtree(stale)
    return pruned


def _removed(path: Path) -> bool:
    """Remove an old backup; False (and a warning) when it cannot be."""
    if path.is_symlink():
        logger.warning("backup retention: %s is a symbolic link; left in place", path)
        return False
    try:
        shutil.rmtree(path)
    except OSError as exc:
        logger.warning("backup retention: cannot remove %s (%s); left in place", path, exc)
        return False
    return True


def _backup_dirs(out_dir: Path) -> list[Path]:
    """Backup directories (by their name's shape), newest first."""
    if not out_dir.is_dir():
        return []
    try:
        found = [p for p in out_dir.iterdir() if p.is_dir() and _NAME.fullmatch(p.name)]
    except OSError as exc:
        raise BackupError(f"{out_dir}: cannot list the backups: {exc.strerror or exc}") from exc
    return sorted(found, key=lambda p: p.name, reverse=True)


def _is_snapshot(path: Path) -> bool:
    """An automatic snapshot (`...Z-before-<step>`), by the name `snapshot_before` gives it."""
    return path.name.split("Z-", 1)[1].startswith("before-")
