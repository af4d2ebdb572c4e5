"""Reading partition files for the importer: hash, parse, check and map each record to rows, in
a helper process when there is a core to spare.

Parsing, validating and mapping documents is pure Python work that holds the GIL; about half of
an import's time. A second *process* does it for the next files while the importer writes to the
database (threads cannot: the GIL serializes them). The helper is `python -m
migrator.import_reader` (a fresh interpreter: nothing of the caller is re-imported, unlike
multiprocessing's spawn), fed over its stdin and answering with pickled `FileRead`s on stdout.
It exits when its stdin closes, so it never outlives an importer that is killed. For a small
store, without an idle core, or for a schema that cannot be pickled, the same `read_file` runs
in-process; the database ends the same either way.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import pickle
import subprocess
import sys
from collections import deque
from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from migrator.adapters.json_store import JsonStore
from migrator.errors import DocumentError, JsonFileError, StoreError
from migrator.in_flight import version_time
from migrator.prune_guard import newest_version
from migrator.schemas.codec import DocumentRows, canonical_bytes
from migrator.schemas.row_encoder import encoder_for

logger = logging.getLogger(__name__)

#: Below this many bytes to read, starting a helper process costs more than it saves.
PARALLEL_MIN_BYTES = 32 * 1024 * 1024
#: Files the helper reads ahead of the importer: bounds memory to a few files.
LOOKAHEAD = 2


@dataclass
class RecordRead:
    """One record: its rows, or why it is refused (with the raw record for the rejects file)."""

    index: int
    doc_id: Any
    #: Refused: the record as read, for the rejects file (None when accepted).
    raw: Any = None
    reason: str | None = None
    field: str | None = None
    #: Accepted: its rows (None when refused).
    rows: DocumentRows | None = None
    #: Dry run: a hash of the record's canonical bytes, to compare with what is read back.
    digest: bytes | None = None
    #: Its version key as a time (None without one): an older one never replaces SQL's.
    version: datetime | None = None

    def error(self) -> DocumentError:
        return DocumentError(self.reason or "refused", field=self.field, doc_id=self.doc_id)


@dataclass
class FileRead:
    """What one partition file holds, as far as it can be known without the database."""

    partition: str
    size: int
    sha256: str
    #: Its hash is that of its last clean import: not parsed.
    unchanged: bool = False
    #: Not a JSON array (or unreadable): (reason, line, column).
    file_error: tuple[str, int | None, int | None] | None = None
    records: list[RecordRead] = field(default_factory=list)
    #: Every string id the file holds, valid or not (what is not here is gone).
    ids: set[str] = field(default_factory=set)
    #: The newest version key in the file (what `--prune` judges gone documents by).
    newest: datetime | None = None

    def json_file_error(self, path: Path) -> JsonFileError:
        assert self.file_error is not None
        reason, line, column = self.file_error
        return JsonFileError(path, reason, line=line, column=column)


def read_file(
    store: JsonStore, partition: str, known_sha: str | None, *, digests: bool = False
) -> FileRead | None:
    """Read, hash, parse and map one partition file; None when the file is gone."""
    read, data = _hashed(store, partition, known_sha)
    if data is None:
        return read
    assert read is not None
    return _parsed(store, read, data, digests=digests)


def _hashed(
    store: JsonStore, partition: str, known_sha: str | None
) -> tuple[FileRead | None, bytes | None]:
    """The file read and hashed, and its bytes when they still need parsing."""
    try:
        data = store.read_bytes(partition)
    except JsonFileError as exc:
        return FileRead(partition, 0, "", file_error=(exc.reason, exc.line, exc.column)), None
    if data is None:
        return None, None
    read = FileRead(partition, len(data), hashlib.sha256(data).hexdigest())
    if read.sha256 == known_sha:
        read.unchanged = True
        return read, None
    return read, data


def _parsed(store: JsonStore, read: FileRead, data: bytes, *, digests: bool) -> FileRead:
    partition = read.partition
    try:
        records, checked = store.parse_checked(partition, data)
    except JsonFileError as exc:
        read.file_error = (exc.reason, exc.line, exc.column)
        return read
    del data
    schema, id_key = store.schema, store.schema.id_key
    read.newest = newest_version(records, schema.version_key)
    encoder = encoder_for(schema)
    first: dict[str, int] = {}
    for index, record in enumerate(records):
        doc_id = record.get(id_key) if isinstance(record, dict) else None
        item = RecordRead(index, doc_id)
        if schema.version_key is not None and isinstance(record, dict):
            item.version = version_time(record.get(schema.version_key))
        read.records.append(item)
        if isinstance(doc_id, str):
            read.ids.add(doc_id)
            if doc_id in first:
                item.reason = (
                    f"duplicate id: record {first[doc_id]} of this file has it too "
                    "(the first is kept)"
                )
                item.field, item.raw = id_key, record
                continue
            first[doc_id] = index
        try:
            item.rows = encoder.encode(record, partition, index, json_checked=checked)
        except DocumentError as exc:
            item.reason, item.field, item.raw = exc.reason, exc.field, record
            continue
        if digests:
            item.digest = digest(record)
    return read


def digest(doc: Any) -> bytes:
    """A short hash of a document's canonical bytes."""
    return hashlib.blake2b(canonical_bytes(doc), digest_size=16).digest()


def read_files(
    store: JsonStore,
    partitions: Sequence[str],
    marks: Mapping[str, str],
    *,
    digests: bool,
    parallel: bool,
) -> Generator[FileRead | None, None, None]:
    """`read_file` of each partition, in order. When `parallel`, files are hashed here and only
    changed ones are parsed by the helper process, started at the first changed file (so a
    re-import of an unchanged store starts none), a few files ahead of the caller."""
    if not parallel:
        for partition in partitions:
            yield read_file(store, partition, marks.get(partition), digests=digests)
        return
    helper: _Helper | None = None
    started = False
    #: (partition, its read when known here, asked of the helper)
    pending: deque[tuple[str, FileRead | None, bool]] = deque()
    try:
        for partition in partitions:
            read, data = _hashed(store, partition, marks.get(partition))
            if data is not None and not started:
                helper, started = _Helper.start(store), True
            if data is not None and helper is not None:
                helper.ask(partition, marks.get(partition), digests)
                pending.append((partition, None, True))
            elif data is not None:
                assert read is not None
                pending.append((partition, _parsed(store, read, data, digests=digests), False))
            else:
                pending.append((partition, read, False))
            del data
            if len(pending) > LOOKAHEAD:
                yield _next(pending, helper)
        while pending:
            yield _next(pending, helper)
    finally:
        if helper is not None:
            helper.close()


def _next(
    pending: deque[tuple[str, FileRead | None, bool]], helper: _Helper | None
) -> FileRead | None:
    partition, read, asked = pending.popleft()
    if asked:
        assert helper is not None
        return helper.answer(partition)
    return read


def worth_a_helper(sizes: Sequence[int]) -> bool:
    """Whether a helper process pays for itself: enough bytes to read and an idle core (on a
    busy machine the helper only adds its pickling to the work: measured ~25% slower)."""
    try:
        busy = os.getloadavg()[0]
    except (AttributeError, OSError):  # no load average on this system
        busy = 0.0
    idle = (os.cpu_count() or 1) - busy
    return idle >= 1.0 and sum(sizes) >= PARALLEL_MIN_BYTES


class _Helper:
    """The helper process and the two pipes to it."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process
        assert process.stdin is not None and process.stdout is not None
        self.requests: IO[bytes] = process.stdin
        self.answers: IO[bytes] = process.stdout

    @classmethod
    def start(cls, store: JsonStore) -> _Helper | None:
        """A ready helper, or None (the caller reads in-process) when it cannot be had."""
        try:
            setup = pickle.dumps((str(store.root), store.schema), pickle.HIGHEST_PROTOCOL)
        except (pickle.PicklingError, AttributeError, TypeError) as exc:
            logger.info("schema cannot be handed to a helper process (%s): reading in-process", exc)
            return None
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", "migrator.import_reader"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
            )
        except OSError as exc:
            logger.info("no helper process (%s): reading in-process", exc)
            return None
        helper = cls(process)
        try:
            helper.requests.write(setup)
            helper.requests.flush()
            ready = pickle.load(helper.answers)
        except (OSError, EOFError, pickle.UnpicklingError) as exc:
            ready = f"no answer ({exc})"
        if ready != "ready":
            logger.info("helper process not ready (%s): reading in-process", ready)
            helper.close()
            return None
        return helper

    def ask(self, partition: str, known_sha: str | None, digests: bool) -> None:
        pickle.dump((partition, known_sha, digests), self.requests, pickle.HIGHEST_PROTOCOL)
        self.requests.flush()

    def answer(self, partition: str) -> FileRead | None:
        try:
            kind, value = pickle.load(self.answers)
        except (OSError, EOFError, pickle.UnpicklingError) as exc:
            raise StoreError(
                f"the import's reader process died reading {partition}: {exc}"
            ) from exc
        if kind == "error":
            raise StoreError(f"reading partition {partition!r} failed: {value}")
        result: FileRead | None = value
        return result

    def close(self) -> None:
        for pipe in (self.requests, self.answers):
            with contextlib.suppress(OSError):
                pipe.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _serve(requests: IO[bytes], answers: IO[bytes]) -> None:
    """The helper's loop: the setup, then one answer per request, until stdin closes."""
    try:
        root, schema = pickle.load(requests)
        store = JsonStore(root, schema)
    except Exception as exc:  # reported to the importer, which then reads in-process
        pickle.dump(f"{type(exc).__name__}: {exc}", answers)
        answers.flush()
        return
    pickle.dump("ready", answers)
    answers.flush()
    while True:
        try:
            partition, known_sha, digests = pickle.load(requests)
        except EOFError:
            return
        try:
            answer: tuple[str, Any] = (
                "ok",
                read_file(store, partition, known_sha, digests=digests),
            )
        except Exception as exc:  # handed to the importer, which raises it there
            answer = ("error", f"{type(exc).__name__}: {exc}")
        pickle.dump(answer, answers, pickle.HIGHEST_PROTOCOL)
        answers.flush()


def main() -> None:
    """Entry point of the helper: answers go to the real stdout; anything else printed goes to
    stderr, so a stray print cannot corrupt the answers."""
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    with contextlib.suppress(BrokenPipeError, KeyboardInterrupt):
        _serve(sys.stdin.buffer, answers)


if __name__ == "__main__":
    # Run the module's imported copy, so pickled results name `migrator.import_reader`, not
    # `__main__`.
    from migrator import import_reader

    import_reader.main()
