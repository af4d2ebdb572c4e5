"""Filesystem helpers every store and state file shares: atomic replacement, directory fsync,
opens that never follow a symbolic link, and keeping the owner of the store on what is created.

Why in one place: a state file written through a planted symlink, a lock file created by root
that the application's user cannot open, or a partition file whose 0600 mode becomes 0644 after
a rewrite are each a loss of safety that one helper gets right once.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path

from migrator.adapters.faults import checkpoint
from migrator.errors import StoreError

#: Opened without following a final symlink; never inherited by a child process.
NOFOLLOW = os.O_NOFOLLOW | os.O_CLOEXEC


def write_atomically(path: Path, data: bytes, *, mode: int | None = None) -> None:
    """Replace `path` with `data`: readers and crashes see the old file or the new, never half.

    The new file keeps the old one's mode and owner (or gets `mode`, 0644 by default, and the
    owner of its directory when created by root). A symlink at `path` is replaced, never
    written through. In two halves (`stage`, `replace_staged`) for a writer that has more to
    do between them (a dual write: its SQL rows)."""
    sync_and_replace(stage(path, data, mode=mode), path)


def sync_and_replace(tmp: Path, path: Path) -> None:
    """Make the staged file `tmp` durable, then `path` (`replace_staged`)."""
    try:
        fsync_file(tmp)
    except OSError as exc:
        discard(tmp)
        raise StoreError(f"{path}: cannot write: {exc.strerror or exc}") from exc
    replace_staged(tmp, path)


def stage(path: Path, data: bytes, *, mode: int | None = None) -> Path:
    """The first half of `write_atomically`: `data` in a new temporary file beside `path`,
    with the mode and owner `path` will have, not yet synced. Its path."""
    directory = path.parent
    try:
        directory.mkdir(parents=True, exist_ok=True)
        try:
            old = os.lstat(path)
            keep_mode, owner = old.st_mode & 0o777, (old.st_uid, old.st_gid)
        except FileNotFoundError:
            keep_mode, owner = 0o644, None
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise StoreError(f"{path}: cannot write: {exc.strerror or exc}") from exc
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, mode if mode is not None else keep_mode)
        keep_owner(tmp, directory, owner)
    except OSError as exc:
        discard(tmp)
        raise StoreError(f"{path}: cannot write: {exc.strerror or exc}") from exc
    return tmp


def replace_staged(
    tmp: Path,
    path: Path,
    *,
    before_rename: Callable[[], None] | None = None,
    sync_directory: bool = True,
) -> None:
    """The second half of `write_atomically`: the staged file `tmp`, synced by the caller,
    becomes `path`. `before_rename` runs just before: the last moment to wait for what must be
    durable first (a journal intent). On any failure, its own included, `tmp` is removed and
    `path` kept. `sync_directory` False: the caller makes the rename durable (an fsync of
    the directory), as a dual write does beside its SQL commit."""
    try:
        if before_rename is not None:
            before_rename()
        checkpoint("json.before_rename")
        os.replace(tmp, path)
        checkpoint("json.after_rename")
        if sync_directory:
            fsync_directory(path.parent)
    except OSError as exc:
        discard(tmp)
        raise StoreError(f"{path}: cannot write: {exc.strerror or exc}") from exc
    except BaseException:  # `before_rename` refused: the old file stays
        discard(tmp)
        raise


def staged_leftovers(directory: Path, suffix: str) -> list[Path]:
    """Files `stage` wrote in `directory` for a `<name><suffix>` that were never renamed: the
    writer was killed between the two halves. Nothing reads them."""
    return sorted(directory.glob(f".*{suffix}.*.tmp"))


def staged_name(tmp: Path, suffix: str) -> str:
    """The `<name>` a staged file `.<name><suffix>.<random>.tmp` was written for."""
    return tmp.name[1:].rpartition(f"{suffix}.")[0]


def discard(tmp: Path) -> None:
    """Remove a staged file that will not be used (gone already is fine)."""
    with contextlib.suppress(OSError):
        tmp.unlink()


def fsync_file(path: Path) -> None:
    """Make a file's bytes durable (any descriptor of it will do on Linux)."""
    fd = os.open(path, os.O_RDONLY | NOFOLLOW)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_directory(directory: Path) -> None:
    """Make a rename or a new entry in `directory` durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def keep_owner(path: Path | int, directory: Path, owner: tuple[int, int] | None = None) -> None:
    """Give what root just created to the owner of `directory` (or `owner`): a lock or state
    file made by a CLI run as root must stay usable by the application's user. A no-op for
    anyone but root."""
    if os.geteuid() != 0:
        return
    if owner is None:
        info = os.stat(directory)
        owner = (info.st_uid, info.st_gid)
    if owner == (0, 0):
        return
    if isinstance(path, int):
        os.fchown(path, *owner)
    else:
        os.chown(path, *owner, follow_symlinks=False)


def open_nofollow(path: Path, flags: int, mode: int = 0o644) -> int:
    """`os.open` that refuses a symlink at `path` (a planted link would redirect the write to
    whatever file it names) with one `StoreError`; a file it creates gets the directory's owner."""
    try:
        fd = os.open(path, flags | NOFOLLOW, mode)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise StoreError(f"{path}: is a symbolic link; refused (remove it)") from None
        raise
    try:
        keep_owner(fd, path.parent)
    except OSError:
        os.close(fd)
        raise
    return fd


def read_nofollow(path: Path) -> bytes | None:
    """The bytes of the regular file at `path`, None when there is none; a symlink is refused.
    `OSError` for anything else the caller names in its own words."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | NOFOLLOW)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise StoreError(f"{path}: is a symbolic link; refused (remove it)") from None
        raise
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise StoreError(f"{path}: not a regular file; refused")
        return handle.read()


def append(path: Path, data: bytes, *, sync: bool, mode: int = 0o644) -> int:
    """Append `data` in one write (O_APPEND keeps it whole among other appenders), without
    following a symlink; fsynced (and its directory, when this created the file) if `sync`.
    The file's size afterwards."""
    fd, size, created = append_keeping_open(path, data, mode=mode)
    try:
        if sync:
            os.fsync(fd)
    finally:
        os.close(fd)
    if created and sync:
        with contextlib.suppress(OSError):
            fsync_directory(path.parent)
    return size


def append_keeping_open(path: Path, data: bytes, *, mode: int = 0o644) -> tuple[int, int, bool]:
    """`append`'s write alone, for a caller that syncs later: the descriptor, still open (the
    caller closes it), the file's size afterwards, and whether this call created the file."""
    fd = open_nofollow(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, mode)
    try:
        created = os.fstat(fd).st_size == 0
        os.write(fd, data)
        return fd, os.fstat(fd).st_size, created
    except BaseException:
        os.close(fd)
        raise
