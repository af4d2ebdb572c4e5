"""SQLite at the file level: online backup, inspection of a backup file, atomic replacement.

`Dialect` (SQLite) delegates its backup, restore and health-check methods here, so the dialect
module stays a readable list of differences. Everything runs on the standard library's
`sqlite3`, whose `Connection.backup` is SQLite's online backup API.
"""

from __future__ import annotations

import contextlib
import gzip
import logging
import os
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from migrator.adapters.fs import fsync_directory
from migrator.errors import BackupError, DatabaseCorruptError

logger = logging.getLogger(__name__)

#: Called after each backup step with (pages copied, pages in total).
Progress = Callable[[int, int], None]

HEADER = b"SQLite format 3\x00"
#: Pages copied per backup step: the source's read lock is released between steps.
PAGES_PER_STEP = 1024
#: After this many restarts (another process wrote between steps) the rest goes in one step.
MAX_RESTARTS = 3
#: How long restore waits for the exclusive lock it needs before saying the database is in use.
LOCK_WAIT_SECONDS = 2.0
#: Seconds a connection waits for another's write lock before SQLite reports the database busy
#: (`PRAGMA busy_timeout`): the engine's (`dialect_sqlite`) and these file operations' alike.
BUSY_TIMEOUT_SECONDS = 30
SIDE_FILES = ("-wal", "-shm", "-journal")


class _Restarted(Exception):
    """Raised from the progress callback to abandon a stepped backup that keeps restarting."""


def online_backup(source: Path, dest: Path, progress: Progress | None = None) -> None:
    """Copy the live database `source` into `dest` (an existing empty file) consistently.

    Writers keep running (WAL): the copy is taken in steps; when other processes write so often
    that it restarts more than `MAX_RESTARTS` times, the rest is copied in a single step (one
    read transaction, which in WAL mode does not block writers either). The copy leaves WAL
    mode, so it is one self-contained file, and must pass `PRAGMA quick_check`.
    """
    src = _connect(source, read_only=False)
    try:
        try:
            _copy_in_steps(src, dest, progress, pages=PAGES_PER_STEP)
        except _Restarted:
            logger.info("backup of %s kept restarting under writes; copying in one step", source)
            _copy_in_steps(src, dest, progress, pages=-1)
    except sqlite3.DatabaseError as exc:
        raise _file_error(source, exc) from exc
    finally:
        src.close()
    problems = quick_check(dest)
    if problems:
        raise DatabaseCorruptError(str(source), "; ".join(problems[:3]))


def _copy_in_steps(
    src: sqlite3.Connection, dest: Path, progress: Progress | None, *, pages: int
) -> None:
    state = {"remaining": -1, "restarts": 0}

    def step(_status: int, remaining: int, total: int) -> None:
        if pages > 0 and remaining >= state["remaining"] >= 0:
            state["restarts"] += 1
            if state["restarts"] > MAX_RESTARTS:
                raise _Restarted
        state["remaining"] = remaining
        if progress is not None:
            progress(total - remaining, total)

    dst = sqlite3.connect(dest, isolation_level=None)
    try:
        src.backup(dst, pages=pages, progress=step)
        dst.execute("PRAGMA journal_mode = DELETE")
    finally:
        dst.close()


def quick_check(path: Path) -> list[str]:
    """`PRAGMA quick_check` of a database file: [] when sound, else what SQLite reports."""
    try:
        conn = _connect(path, read_only=True)
    except sqlite3.DatabaseError as exc:  # a directory, a file it may not read
        return [str(exc)]
    try:
        rows = [str(row[0]) for row in conn.execute("PRAGMA quick_check(20)")]
    except sqlite3.DatabaseError as exc:
        return [str(exc)]
    finally:
        conn.close()
    return [] if rows == ["ok"] else rows


def dump_sql(db_file: Path, dest_fd: int) -> None:
    """Write the SQL text of `db_file` (a backup copy, never the live file), gzipped, to a file
    descriptor the caller created (so it decides the file's mode)."""
    conn = _connect(db_file, read_only=True)
    try:
        with os.fdopen(dest_fd, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
            for line in _dump_statements(conn):
                gz.write(line.encode("utf-8", "surrogatepass") + b"\n")
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{db_file}: cannot dump as SQL: {exc}") from exc
    finally:
        conn.close()


_FTS5_SHADOWS = ("data", "idx", "content", "docsize", "config")


def _dump_statements(conn: sqlite3.Connection) -> Iterator[str]:
    """`iterdump`, made replayable with full-text tables: Python dumps an FTS5 table as rows
    inserted into the table itself, which a fresh database cannot take (`no such table`). Its
    rows and shadow tables are left out; the table is created at the end, after the rows it
    indexes, and rebuilt from them."""
    virtual = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' "
        "AND sql LIKE 'CREATE VIRTUAL TABLE%'"
    ).fetchall()
    names = [name for name, _ in virtual]
    shadows = [f"{name}_{suffix}" for name in names for suffix in _FTS5_SHADOWS]
    skipped_sql = (
        {
            f"{sql};"
            for (sql,) in conn.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name IN "
                f"({', '.join('?' * len(shadows))})",
                shadows,
            )
        }
        if shadows
        else set()
    )
    inserts = tuple(
        f'INSERT INTO "{name.replace(chr(34), chr(34) * 2)}" VALUES(' for name in names + shadows
    )
    registered = tuple(
        f"INSERT INTO sqlite_master(type,name,tbl_name,rootpage,sql)VALUES('table','{name}'"
        for name in (n.replace("'", "''") for n in names)
    )
    for line in conn.iterdump():
        if line in skipped_sql or line.startswith(inserts) or line.startswith(registered):
            continue
        if line == "COMMIT;":
            for name, sql in virtual:
                yield f"{sql};"
                if "fts5" in sql.lower():
                    quoted = '"' + name.replace('"', '""') + '"'
                    yield f"INSERT INTO {quoted}({quoted}) VALUES('rebuild');"
        yield line


def inspect_file(path: Path) -> dict[str, str]:
    """The `migrator_meta` of a database file we may modify (a staged copy), after checking it
    is a whole SQLite file that passes `PRAGMA integrity_check`; `BackupError` says what is
    wrong (the caller names the file)."""
    _check_header(path)
    try:
        conn = _connect(path, read_only=False)
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"not a usable SQLite database: {exc}") from exc
    try:
        conn.execute("PRAGMA journal_mode = DELETE")
        rows = [str(row[0]) for row in conn.execute("PRAGMA integrity_check(20)")]
        if rows != ["ok"]:
            raise BackupError(f"fails PRAGMA integrity_check: {'; '.join(rows[:3])}")
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        if "migrator_meta" not in tables:
            raise BackupError("a SQLite database, but not one of migrator (no migrator_meta table)")
        return {str(k): str(v) for k, v in conn.execute("SELECT key, value FROM migrator_meta")}
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"not a usable SQLite database: {exc}") from exc
    finally:
        conn.close()


def _check_header(path: Path) -> None:
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            header = handle.read(100)
    except OSError as exc:
        raise BackupError(f"cannot read: {exc.strerror or exc}") from exc
    if not header.startswith(HEADER):
        raise BackupError("not a SQLite database (no 'SQLite format 3' header)")
    if len(header) < 100:
        raise BackupError(f"truncated: {size} bytes, shorter than a SQLite header")
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    counter_valid = header[24:28] == header[92:96]
    if page_size < 512 or page_size & (page_size - 1):
        raise BackupError(f"damaged SQLite header (page size {page_size})")
    if size % page_size or (counter_valid and size < pages * page_size):
        expected = pages * page_size if counter_valid else "a multiple of the page size"
        raise BackupError(f"truncated: {size} bytes, its header says {expected}")


@contextlib.contextmanager
def _exclusive(target: Path) -> Iterator[None]:
    """Hold `target` exclusively while it is replaced, or refuse when others have it open.

    Leaving WAL mode needs every other connection closed, so a failure here means another
    process still has the database open. A corrupt target cannot be locked: it is replaced as
    it is (the safety backup kept a raw copy of it).
    """
    try:
        conn = sqlite3.connect(target, timeout=LOCK_WAIT_SECONDS, isolation_level=None)
    except sqlite3.DatabaseError:
        yield
        return
    try:
        try:
            mode = conn.execute("PRAGMA journal_mode = DELETE").fetchone()
            if mode is None or str(mode[0]).lower() != "delete":
                raise sqlite3.OperationalError("database is locked")
            conn.execute("BEGIN EXCLUSIVE")
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise BackupError(
                    f"database {target} is open in another process (SQLite could not lock it "
                    "exclusively); stop the application, then run restore again"
                ) from exc
            logger.warning("restoring over %s, which cannot be locked: %s", target, exc)
        except sqlite3.DatabaseError as exc:
            logger.warning("restoring over %s, which cannot be locked: %s", target, exc)
        yield
    finally:
        conn.close()


def replace_file(target: Path, staged: Path) -> None:
    """Put `staged` (beside `target`, verified, fsynced) in place of `target` atomically.

    Stale `-wal`/`-shm`/`-journal` files of the old database are removed first: SQLite would
    otherwise apply the old database's log to the new file. Connections other processes still
    hold keep the old, unlinked file: whatever they write after this is lost, hence the lock.
    """
    with _exclusive(target) if target.exists() else contextlib.nullcontext():
        for suffix in SIDE_FILES:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{target}{suffix}")
        os.replace(staged, target)
        fsync_directory(target.parent)


def stage_copy(source: Path, target: Path) -> Path:
    """A private copy of `source` beside `target` (same file system, so it can be renamed)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.restore-", dir=target.parent)
    os.close(fd)
    try:
        copy_bytes(source, Path(name))
    except BackupError:
        Path(name).unlink(missing_ok=True)
        raise
    return Path(name)


def copy_bytes(source: Path, dest: Path) -> None:
    """Copy a file's bytes into `dest` (created by the caller, or 0600 here), fsynced."""
    try:
        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out, source.open("rb") as src:
            while chunk := src.read(1 << 20):
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
    except OSError as exc:
        raise BackupError(f"{source}: cannot copy to {dest}: {exc.strerror or exc}") from exc


def _connect(path: Path, *, read_only: bool) -> sqlite3.Connection:
    mode = "ro" if read_only else "rw"
    uri = f"{path.absolute().as_uri()}?mode={mode}"
    return sqlite3.connect(uri, uri=True, isolation_level=None, timeout=BUSY_TIMEOUT_SECONDS)


def _file_error(path: Path, exc: sqlite3.DatabaseError) -> Exception:
    text = str(exc)
    if "malformed" in text or "not a database" in text or "corrupt" in text:
        return DatabaseCorruptError(str(path), text)
    return BackupError(f"database {path}: cannot back up: {text}")
