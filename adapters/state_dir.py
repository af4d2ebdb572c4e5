"""The one owner of the state directory, `<json_dir>/.migrator/`: every file's name, the way
each is locked, and the directory itself (created with the store's owner).

Layout::

    <json_dir>/.migrator/
        phase.json          the phase, its moves, shadow settings, the last validation
                            (migrator.adapters.phase_state; model `PhaseFile`)
        store-id            this JSON store's identity, written once; the database it
                            mirrors records it too (migrator.adapters.store_identity)
        phase.lock          held by a phase move and by an import, to its end (reentrant)
        journal.jsonl       dual writes that may have reached one store (migrator.adapters.journal;
                            one `JournalLine` per line), appended under journal.lock (shared;
                            exclusive while compacting)
        history.jsonl       one `HistoryLine` per command run (migrator.history), under
                            history.lock
        incidents.json      shadow-read and fallback counters (migrator.adapters.incidents), under
        shadow.jsonl          incidents.lock, with the capped logs of mismatches
        fallbacks.jsonl       and of reads served from JSON
        import.lock         one import at a time (never waited for), the holder's pid in
        import.pid            import.pid
        locks/<p>.lock      the partition locks: one writer of a partition at a time, held by a
                            dual write across both stores (reentrant)
        backups/            `migrator backup` and the automatic snapshots (migrator.backup)
        archive/            the JSON files packed by `archive` / `phase set sqlite-only`
        rejects-<UTC>.jsonl an import's rejected raw records (0600, like the backups)

Every file is opened without following a symlink and replaced atomically (`migrator.adapters.fs`);
each
is validated when read (`migrator.adapters.state_models`); every lock is a `StateLock` with the one
timeout setting.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from pathlib import Path

from migrator.adapters.fs import keep_owner
from migrator.adapters.state_lock import StateLock
from migrator.errors import StoreError

NAME = ".migrator"
PHASE = "phase.json"
PHASE_LOCK = "phase.lock"
STORE_ID = "store-id"
JOURNAL = "journal.jsonl"
JOURNAL_LOCK = "journal.lock"
HISTORY = "history.jsonl"
HISTORY_LOCK = "history.lock"
INCIDENTS = "incidents.json"
INCIDENTS_LOCK = "incidents.lock"
SHADOW_LOG = "shadow.jsonl"
FALLBACK_LOG = "fallbacks.jsonl"
IMPORT_LOCK = "import.lock"
IMPORT_PID = "import.pid"
LOCKS = "locks"
BACKUPS = "backups"
ARCHIVE = "archive"
#: Files holding documents (raw rejected records) are private, like the backups.
PRIVATE_MODE = 0o600


class StateDir:
    """The state directory of the JSON store at `json_dir`."""

    def __init__(self, json_dir: Path | str) -> None:
        self.json_dir = Path(json_dir)
        self.path = self.json_dir / NAME

    def exists(self) -> bool:
        return self.path.is_dir()

    def file(self, name: str) -> Path:
        """The path of one of the files named in this module."""
        return self.path / name

    def ensure(self, sub: str | None = None) -> Path:
        """Create the directory (or its `sub` directory) if needed, owned like the JSON store."""
        target = self.path if sub is None else self.path / sub
        if target.is_dir():
            return target
        try:
            made = [p for p in (self.path, target) if not p.exists()]
            target.mkdir(parents=True, exist_ok=True)
            for directory in dict.fromkeys(made):
                with contextlib.suppress(FileNotFoundError):
                    keep_owner(directory, self.json_dir)
        except OSError as exc:
            raise StoreError(f"{target}: cannot create the state directory: {exc}") from exc
        return target

    # ------------------------------------------------------------------ locks

    def lock(
        self,
        name: str,
        *,
        purpose: str,
        reentrant: bool = False,
        shared: bool = False,
        timeout: float | None = None,
    ) -> StateLock:
        """The lock file `name` (created on first use, with the directory)."""
        self.ensure()
        return StateLock(
            self.file(name), purpose=purpose, reentrant=reentrant, shared=shared, timeout=timeout
        )

    def partition_lock(self, partition: str) -> StateLock:
        """The lock every writer of `partition` holds (a dual write, across both stores).
        `partition` must be a checked partition name."""
        self.ensure(LOCKS)
        return StateLock(
            self.path / LOCKS / f"{partition}.lock",
            purpose=f"the lock of partition {partition}",
            reentrant=True,
        )

    def partition_lock_files(self) -> list[Path]:
        directory = self.path / LOCKS
        return sorted(directory.glob("*.lock")) if directory.is_dir() else []

    # ------------------------------------------------------------------ folders

    def backups(self) -> Path:
        return self.path / BACKUPS

    def archive(self) -> Path:
        return self.path / ARCHIVE

    def new_rejects_file(self) -> Path:
        """`rejects-<UTC timestamp>.jsonl`: one file per run, never overwritten."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        path, n = self.path / f"rejects-{stamp}.jsonl", 1
        while path.exists():
            n += 1
            path = self.path / f"rejects-{stamp}-{n}.jsonl"
        return path
