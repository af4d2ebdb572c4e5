"""The legacy backend: a directory of `<partition>.json` files, each a JSON array of documents.

Files are written the way the legacy application writes them (2-space indent, UTF-8, no ASCII
escaping), atomically (temp file in the same directory, fsync, rename, fsync of the directory),
and one writer at a time per partition across processes (`StateDir.partition_lock`).
Readers take no lock: a rename is atomic, so they see the old file or the new one.
"""

from __future__ import annotations

import builtins
import contextlib
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from migrator.adapters import json_query
from migrator.adapters.base import DocumentStore
from migrator.adapters.fs import (
    discard,
    fsync_directory,
    replace_staged,
    stage,
    staged_leftovers,
    staged_name,
    sync_and_replace,
    write_atomically,
)
from migrator.adapters.json_files import parse_array, read_regular_file
from migrator.adapters.json_search import search_documents
from migrator.adapters.query import Findable, Page, Query
from migrator.adapters.search_query import SearchHit, check_limit, parse
from migrator.adapters.state_dir import StateDir
from migrator.adapters.state_lock import StateLock
from migrator.errors import DocumentError, JsonFileError, StoreError, UnsafePartitionError
from migrator.schemas.codec import validate
from migrator.schemas.declaration import Schema
from migrator.schemas.jsontext import (
    JsonEncodeError,
    dumps_pretty,
)

Document = dict[str, Any]

_SAFE_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}")


def check_partition_name(name: str) -> str:
    """`name` when it is safe as a file stem; `UnsafePartitionError` otherwise."""
    if not isinstance(name, str) or not _is_safe(name):
        raise UnsafePartitionError(str(name))
    return name


def _is_safe(stem: str) -> bool:
    return bool(_SAFE_NAME.fullmatch(stem)) and ".." not in stem


def _json_names(root: Path) -> list[str]:
    """The names in `root` ending in `.json` ([] when there is no such directory)."""
    if not root.is_dir():
        return []
    return [entry.name for entry in os.scandir(root) if entry.name.endswith(".json")]


@dataclass(frozen=True)
class StagedPartition:
    """A partition file's next version, staged beside it (`JsonStore.stage_put`)."""

    path: Path
    tmp: Path

    def replace(
        self, *, before_rename: Callable[[], None] | None = None, sync_directory: bool = True
    ) -> None:
        """Make the staged version (synced by the caller) the file; see `replace_staged`."""
        replace_staged(
            self.tmp, self.path, before_rename=before_rename, sync_directory=sync_directory
        )

    def sync_and_replace(self) -> None:
        sync_and_replace(self.tmp, self.path)

    def discard(self) -> None:
        discard(self.tmp)


class JsonStore(DocumentStore, Findable):
    """Documents in `<root>/<partition>.json` files, as the legacy application keeps them."""

    def __init__(self, root: Path | str, schema: Schema) -> None:
        self.root = Path(root)
        self.schema = schema

    # ------------------------------------------------------------------ reading

    def exists(self) -> bool:
        return self.root.is_dir()

    def partitions(self) -> builtins.list[str]:
        return sorted(name[:-5] for name in _json_names(self.root) if _is_safe(name[:-5]))

    def unsafe_files(self) -> builtins.list[Path]:
        """`*.json` files whose name is no safe partition name: never read, so callers must say
        so (a file silently passed over would be data silently left behind)."""
        return sorted(
            self.root / name
            for name in _json_names(self.root)
            if not name.startswith(".") and not _is_safe(name[:-5])
        )

    def path_for(self, partition: str) -> Path:
        return self.root / f"{check_partition_name(partition)}.json"

    def read_bytes(self, partition: str) -> bytes | None:
        """The partition file's bytes, or None when there is no such file."""
        path = self.path_for(partition)
        self._refuse_escaping_link(path)
        return read_regular_file(path)

    def parse(self, partition: str, data: bytes) -> builtins.list[Any]:
        """The JSON array in `data`, or `JsonFileError` with line and column."""
        return self.parse_checked(partition, data)[0]

    def parse_checked(self, partition: str, data: bytes) -> tuple[builtins.list[Any], bool]:
        """`parse`, and whether its records are vouched for as JSON (`jsontext.loads_checked`)."""
        return parse_array(self.path_for(partition), data)

    def read_partition(self, partition: str) -> builtins.list[Any]:
        """The raw records of one partition (not validated); [] for a missing file."""
        return self.read_partition_checked(partition)[0]

    def read_partition_checked(self, partition: str) -> tuple[builtins.list[Any], bool]:
        """`read_partition`, and whether its records are vouched for as JSON (`parse_checked`)."""
        data = self.read_bytes(partition)
        return ([], True) if data is None else self.parse_checked(partition, data)

    def list(self, partition: str) -> builtins.list[Document]:
        return [doc for doc in self.read_partition(partition) if isinstance(doc, dict)]

    def get(self, doc_id: str) -> Document | None:
        found = self._locate(doc_id)
        return None if found is None else found[1]

    def iter_documents(self) -> Iterator[tuple[str, Document]]:
        for partition in self.partitions():
            for doc in self.list(partition):
                yield partition, doc

    def run_query(self, query: Query) -> Page:
        """`find`'s answer, by a scan of the files (`migrator.adapters.json_query`)."""
        return json_query.run(self, query)

    def summaries(self, partition: str) -> builtins.list[Document]:
        """The partition's documents without their child lists, in stored order."""
        return json_query.summaries(self, partition)

    def count(self) -> int:
        return sum(len(self.list(partition)) for partition in self.partitions())

    def search(self, text: str, *, limit: int = 20) -> builtins.list[SearchHit]:
        """The documents that best match `text`: a scan of every file, ranked as SQLite ranks
        (`migrator.adapters.json_search`)."""
        query, limit = parse(text), check_limit(limit)
        return search_documents(self.schema, self.iter_documents(), query, limit)

    def _locate(self, doc_id: str) -> tuple[str, Document] | None:
        id_key = self.schema.id_key
        for partition in self.partitions():
            for doc in self.list(partition):
                if doc.get(id_key) == doc_id:
                    return partition, doc
        return None

    def _refuse_escaping_link(self, path: Path) -> None:
        if path.is_symlink():
            target = path.resolve()
            if not target.is_relative_to(self.root.resolve()):
                raise JsonFileError(path, f"is a link to {target}, outside the store; refused")

    # ------------------------------------------------------------------ writing

    def put(self, partition: str, doc: Document) -> None:
        self._check(partition, doc)
        with self.lock(partition):
            self._stage(partition, doc).sync_and_replace()

    def stage_put(self, partition: str, doc: Document) -> StagedPartition:
        """`put`'s first half, for a caller that validated `doc` and holds the partition's lock
        until it replaces or discards what this returns: the partition's next version, written
        beside it, not yet synced (a dual write syncs it while it writes the SQL rows)."""
        self.path_for(partition)
        with self.lock(partition):
            return self._stage(partition, doc)

    def _check(self, partition: str, doc: Document) -> None:
        """Refuse a bad document before anything (a lock file included) is created."""
        self.path_for(partition)
        try:
            validate(self.schema, doc)
        except DocumentError as exc:
            raise exc.located(partition=partition) from None

    def _stage(self, partition: str, doc: Document) -> StagedPartition:
        path = self.path_for(partition)
        id_key = self.schema.id_key
        docs = self.read_partition(partition)
        for index, existing in enumerate(docs):
            if isinstance(existing, dict) and existing.get(id_key) == doc[id_key]:
                docs[index] = doc
                break
        else:
            docs.append(doc)
        data, mode = self._encoded(path, docs)
        return StagedPartition(path, stage(path, data, mode=mode))

    def delete(self, doc_id: str) -> bool:
        found = self._locate(doc_id)
        if found is None:
            return False
        partition = found[0]
        id_key = self.schema.id_key
        with self.lock(partition):
            docs = self.read_partition(partition)
            kept = [d for d in docs if not (isinstance(d, dict) and d.get(id_key) == doc_id)]
            if len(kept) == len(docs):
                return False
            self._write(self.path_for(partition), kept)
        return True

    def write_partition(
        self, partition: str, docs: builtins.list[Any], *, mode: int | None = None
    ) -> None:
        """Replace a whole partition file with `docs` (an empty list keeps an empty file);
        `mode` for a file this creates (an existing file keeps its own)."""
        with self.lock(partition):
            self._write(self.path_for(partition), docs, mode)

    def remove_partition(self, partition: str) -> bool:
        path = self.path_for(partition)
        with self.lock(partition):
            try:
                path.unlink()
            except FileNotFoundError:
                return False
            fsync_directory(self.root)
        return True

    def staged_leftovers(self) -> builtins.list[Path]:
        """Partition files staged by a writer killed before its rename: never read."""
        return staged_leftovers(self.root, ".json")

    def lock(self, partition: str) -> StateLock:
        """The cross-process lock that serializes writers of one partition (reentrant: a dual
        write holds it across both stores and this store's own write takes it again)."""
        return StateDir(self.root).partition_lock(check_partition_name(partition))

    def _write(self, path: Path, docs: builtins.list[Any], mode: int | None = None) -> None:
        data, mode = self._encoded(path, docs, mode)
        write_atomically(path, data, mode=mode)

    def _encoded(
        self, path: Path, docs: builtins.list[Any], mode: int | None = None
    ) -> tuple[bytes, int | None]:
        """The file's bytes, and the mode a new file gets (an existing one keeps its own)."""
        try:
            data = dumps_pretty(docs)
        except JsonEncodeError as exc:
            raise StoreError(f"{path}: cannot encode as JSON: {exc}") from exc
        if os.path.lexists(path):
            mode = None  # an existing file keeps its mode
        elif mode is None:
            mode = self._sibling_mode()
        return data, mode

    def _sibling_mode(self) -> int | None:
        """A new partition file gets the mode of the store's other files (0600 stays 0600)."""
        for partition in self.partitions():
            with contextlib.suppress(OSError):
                return self.path_for(partition).stat().st_mode & 0o777
        return None

    def close(self) -> None:
        """Nothing stays open between calls."""


def sweep_staged(store: JsonStore) -> list[Path]:
    """Remove `store.staged_leftovers()`, each under its partition's lock: a live writer holds
    it from staging to renaming, so a file still there once the lock is ours is no one's."""
    removed = []
    for tmp in store.staged_leftovers():
        partition = staged_name(tmp, ".json")
        if not _is_safe(partition):
            continue
        with store.lock(partition):
            if tmp.exists():
                discard(tmp)
                removed.append(tmp)
    return removed
