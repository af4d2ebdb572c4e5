"""JsonStore: the legacy format, atomic writes, the per-partition lock, and broken files."""

from __future__ import annotations

import errno
import json
import multiprocessing
import os
import shutil
import threading
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock, Timeout

from migrator.adapters.fs import write_atomically
from migrator.adapters.json_store import JsonStore, sweep_staged
from migrator.adapters.state_dir import NAME as STATE_DIR
from migrator.errors import JsonFileError, StoreError
from migrator.schemas.registry import resolve
from migrator.schemas.sessions import SESSIONS
from tests.adapters.snapshot import files_under
from tests.conftest import FIXTURES
from tests.schemas.samples import session
from tests.schemas.strategies import assert_same_document


@pytest.fixture
def store(tmp_path: Path) -> JsonStore:
    return JsonStore(tmp_path / "json", SESSIONS)


def entries(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir())


# --------------------------------------------------------------------------- format


def test_written_in_the_legacy_format(store: JsonStore) -> None:
    """2-space indented UTF-8 with non-ASCII written raw: what json.dumps(indent=2) gives."""
    docs = [session("é-1", task="naïve 😀 ünïcode"), session("s2", model=None)]
    for doc in docs:
        store.put("ws1", doc)
    data = (store.root / "ws1.json").read_bytes()
    assert data == json.dumps(docs, indent=2, ensure_ascii=False).encode("utf-8")
    assert "naïve 😀 ünïcode".encode() in data
    assert b"\\u" not in data
    assert data.startswith(b'[\n  {\n    "id": "\xc3\xa9-1",\n    "type": "competition",')
    assert json.loads(data.decode("utf-8")) == docs


def test_control_characters_are_escaped(store: JsonStore) -> None:
    """NUL and other control characters are written as \\u escapes (JSON requires it)."""
    store.put("ws1", session("s1", task="a\x00b\x1f"))
    assert b'"task": "a\\u0000b\\u001f"' in (store.root / "ws1.json").read_bytes()


def test_reads_what_the_legacy_application_wrote(store: JsonStore) -> None:
    """A file written by another program (any whitespace, escaped non-ASCII) reads exactly."""
    doc = session("s1", task="é")
    store.root.mkdir()
    (store.root / "ws1.json").write_text(json.dumps([doc]))  # compact, ASCII escapes
    assert_same_document(doc, store.get("s1"))


def test_big_ints_read_exactly(store: JsonStore) -> None:
    """Integers beyond 64 bits in a file (known and unknown keys) are read as exact ints."""
    store.root.mkdir()
    big = 2**64 + 1
    text = json.dumps([session("s1", timeout_seconds=big, x=[-(2**70), {"y": 10**30}])])
    (store.root / "ws1.json").write_text(text)
    doc = store.get("s1")
    assert doc is not None
    assert doc["timeout_seconds"] == big and type(doc["timeout_seconds"]) is int
    assert doc["x"] == [-(2**70), {"y": 10**30}]
    store.put("ws1", doc)
    assert (store.root / "ws1.json").read_text().count("18446744073709551617") == 1


# --------------------------------------------------------------------------- atomic writes


def test_writes_leave_no_temporary_files(store: JsonStore) -> None:
    """After puts, replacements and deletes only partition files and the state dir remain."""
    for index in range(5):
        store.put("ws1", session(f"s{index}"))
        store.put("ws2", session(f"t{index}"))
    store.put("ws1", session("s1", task="again"))
    store.delete("s2")
    assert entries(store.root) == [STATE_DIR, "ws1.json", "ws2.json"]
    assert entries(store.root / STATE_DIR) == ["locks"]


@pytest.mark.parametrize("failing", ["replace", "fsync"])
def test_failed_write_keeps_the_previous_file(
    store: JsonStore, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    """A write that fails (disk full at rename or at fsync) leaves the old file byte for byte and
    no temporary file, and says why."""
    store.put("ws1", session("s1"))
    before = files_under(store.root)

    def disk_full(*args: Any, **kwargs: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, failing, disk_full)
    with pytest.raises(StoreError, match="No space left on device") as caught:
        store.put("ws1", session("s2"))
    monkeypatch.undo()
    assert "ws1.json" in str(caught.value)
    assert files_under(store.root) == before
    assert [d["id"] for d in store.list("ws1")] == ["s1"]


def test_write_atomically_keeps_file_mode(tmp_path: Path) -> None:
    """Replacing a file keeps its permission bits (a 0600 store stays private)."""
    path = tmp_path / "p.json"
    path.write_bytes(b"[]")
    path.chmod(0o600)
    write_atomically(path, b"[1]")
    assert path.read_bytes() == b"[1]"
    assert path.stat().st_mode & 0o777 == 0o600
    write_atomically(tmp_path / "new.json", b"[]")
    assert (tmp_path / "new.json").stat().st_mode & 0o777 == 0o644


# --------------------------------------------------------------------------- the lock


def _writer(root: str, worker: int, count: int, start: Any) -> None:
    """One process of the concurrency test: `count` puts of its own ids to one partition."""
    store = JsonStore(root, resolve("sessions"))
    start.wait()
    for index in range(count):
        store.put("shared", session(f"w{worker}-{index}"))


def test_concurrent_writers_lose_no_update(tmp_path: Path) -> None:
    """4 processes x 25 puts to the same partition: the lock serializes them, all 100 survive."""
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    root = tmp_path / "json"
    workers = [
        context.Process(target=_writer, args=(str(root), worker, 25, start)) for worker in range(4)
    ]
    for process in workers:
        process.start()
    start.set()
    for process in workers:
        process.join(timeout=120)
    assert [p.exitcode for p in workers] == [0, 0, 0, 0]
    store = JsonStore(root, SESSIONS)
    ids = [d["id"] for d in store.list("shared")]
    assert sorted(ids) == sorted(f"w{w}-{i}" for w in range(4) for i in range(25))
    for worker in range(4):  # each writer's own puts stay in its order
        mine = [i for i in ids if i.startswith(f"w{worker}-")]
        assert mine == [f"w{worker}-{i}" for i in range(25)]
    assert entries(root) == [STATE_DIR, "shared.json"]


def test_lock_is_per_partition_and_excludes_other_holders(store: JsonStore) -> None:
    """While a partition is locked, nobody else can lock it; other partitions stay free."""
    outcome: dict[str, bool] = {}

    def try_lock(partition: str) -> None:
        path = store.root / STATE_DIR / "locks" / f"{partition}.lock"
        try:
            with FileLock(str(path), timeout=0.2):
                outcome[partition] = True
        except Timeout:
            outcome[partition] = False

    with store.lock("ws1"):
        threads = [threading.Thread(target=try_lock, args=(p,)) for p in ("ws1", "ws2")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert outcome == {"ws1": False, "ws2": True}


# --------------------------------------------------------------------------- broken files


@pytest.mark.parametrize(
    ("bad_file", "message"),
    [
        ("invalid_json.json", r"ws1\.json:3:11: unexpected character"),
        (
            "not_an_array.json",
            r"ws1\.json: expected a JSON array of documents, found an object",
        ),
        ("empty.json", r"ws1\.json: empty file: expected a JSON array"),
    ],
)
def test_unusable_files_are_named(store: JsonStore, bad_file: str, message: str) -> None:
    """A file that is not JSON, not an array, or empty: JsonFileError naming the file (and line
    and column where there is one), from list, get and put alike; put does not overwrite it."""
    store.root.mkdir()
    target = store.root / "ws1.json"
    shutil.copy(FIXTURES / "bad" / bad_file, target)
    original = target.read_bytes()
    for call in (
        lambda: store.list("ws1"),
        lambda: store.get("x"),
        lambda: store.put("ws1", session()),
    ):
        with pytest.raises(JsonFileError, match=message) as caught:
            call()
        assert caught.value.path == target
    assert target.read_bytes() == original


def test_decode_error_position(store: JsonStore) -> None:
    """The line and column point at the error, 1-based."""
    store.root.mkdir()
    (store.root / "ws1.json").write_bytes(b'[\n  {"id": "a",,}\n]')
    with pytest.raises(JsonFileError) as caught:
        store.list("ws1")
    assert (caught.value.line, caught.value.column) == (2, 14)
    assert str(caught.value).startswith(f"{store.root / 'ws1.json'}:2:14: ")


def test_invalid_utf8_is_a_file_error(store: JsonStore) -> None:
    """Bytes that are not UTF-8 are refused as a file error, not a crash."""
    store.root.mkdir()
    (store.root / "ws1.json").write_bytes(b'[{"id": "\xff"}]')
    with pytest.raises(JsonFileError, match=r"ws1\.json"):
        store.list("ws1")


def test_symlink_outside_the_store_is_refused(store: JsonStore, tmp_path: Path) -> None:
    """A partition file that links outside the store is neither read nor written through."""
    outside = tmp_path / "secret.json"
    outside.write_text(json.dumps([session("s1")]))
    before = outside.read_bytes()
    store.root.mkdir()
    (store.root / "evil.json").symlink_to(outside)
    for call in (
        lambda: store.list("evil"),
        lambda: store.get("s1"),
        lambda: store.put("evil", session("s2")),
    ):
        with pytest.raises(JsonFileError, match="outside the store; refused"):
            call()
    assert outside.read_bytes() == before
    assert (store.root / "evil.json").is_symlink()


def test_symlink_inside_the_store_is_followed(store: JsonStore) -> None:
    """A link to another file inside the store directory reads like the file itself."""
    store.put("real", session("s1"))
    (store.root / "alias.json").symlink_to(store.root / "real.json")
    assert [d["id"] for d in store.list("alias")] == ["s1"]


def test_partitions_are_top_level_json_files_with_safe_names(store: JsonStore) -> None:
    """Only `<safe name>.json` files count: not other files, hidden files or the state dir."""
    store.put("ws1", session("s1"))
    for name in (".hidden.json", "notes.txt", "ws1.json.bak", ".ws1.json.123.tmp", "a..b.json"):
        (store.root / name).write_text("[]")
    (store.root / "sub").mkdir()
    (store.root / "sub" / "deep.json").write_text("[]")
    assert store.partitions() == ["ws1"]
    assert JsonStore(store.root / "missing", SESSIONS).partitions() == []


# ------------------------------------------------------------------- where the stores differ


def test_same_id_in_another_partition_is_a_second_copy(store: JsonStore) -> None:
    """The JSON store does not look across files: a put of a stored id into another partition
    writes a second copy there (SqlStore raises PartitionConflictError instead). get finds the
    copy in the first partition by name; delete removes that one first."""
    store.put("b", session("s1", task="in b"))
    store.put("a", session("s1", task="in a"))
    assert [d["task"] for d in store.list("a") + store.list("b")] == ["in a", "in b"]
    found = store.get("s1")
    assert found is not None and found["task"] == "in a"
    assert store.delete("s1") is True
    found = store.get("s1")
    assert found is not None and found["task"] == "in b"


def test_emptied_partition_keeps_an_empty_file(store: JsonStore) -> None:
    """Deleting the last document leaves `[]` in the file, so the partition is still listed
    (SqlStore, holding no rows for it, no longer lists it)."""
    store.put("ws1", session("s1"))
    store.delete("s1")
    assert (store.root / "ws1.json").read_bytes() == b"[]"
    assert store.partitions() == ["ws1"]
    assert store.remove_partition("ws1") is True
    assert store.remove_partition("ws1") is False
    assert store.partitions() == []


def test_records_that_are_not_objects_are_skipped_by_list(store: JsonStore) -> None:
    """read_partition returns raw records; list, get and count see only the objects."""
    store.write_partition("ws1", [session("s1"), 5, "x", None])
    assert len(store.read_partition("ws1")) == 4
    assert [d["id"] for d in store.list("ws1")] == ["s1"]
    assert store.count() == 1
    store.put("ws1", session("s2"))
    assert store.read_partition("ws1")[1:4] == [5, "x", None]


def test_sweep_staged_removes_what_a_killed_writer_left_and_nothing_else(store: JsonStore) -> None:
    """A staged file no one renamed (its writer was killed) is removed; the partition files,
    other hidden files and a staged file of an unsafe name are not."""
    store.put("ws1", session("s1"))
    left = store.stage_put("ws1", session("s2")).tmp  # never replaced: a killed writer's
    other = store.root / ".notes.tmp"
    other.write_text("mine")
    assert store.staged_leftovers() == [left]
    assert sweep_staged(store) == [left]
    assert not left.exists() and other.exists()
    assert [d["id"] for d in store.list("ws1")] == ["s1"]
    assert store.staged_leftovers() == []


def test_sweep_staged_waits_for_a_live_writer_and_leaves_its_write(store: JsonStore) -> None:
    """A writer holds the partition's lock from staging to renaming: the sweep waits for it,
    then finds its staged file renamed and removes nothing."""
    store.put("ws1", session("s1"))
    staged = threading.Event()
    release = threading.Event()

    def writer() -> None:
        with store.lock("ws1"):
            pending = store.stage_put("ws1", session("s2"))
            staged.set()
            release.wait(10)
            pending.replace()

    thread = threading.Thread(target=writer)
    thread.start()
    assert staged.wait(10)
    assert len(store.staged_leftovers()) == 1  # seen while it is being written
    threading.Timer(0.3, release.set).start()
    assert sweep_staged(store) == []
    thread.join(10)
    assert [d["id"] for d in store.list("ws1")] == ["s1", "s2"]
