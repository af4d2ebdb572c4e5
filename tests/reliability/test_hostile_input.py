"""Hostile input: the corpus in fixtures/hostile (and two files of fixtures/bad) and cases built
here (too big to commit, or not files at all: nesting 10,000 deep, a 200 MB string, a
5,000-digit number, links, pipes, `../` partition names, SQL in ids). Each goes through the
real `migrator import` and `migrator validate`, each a subprocess with a timeout: a clear
error (the file rejected with line and column; validate exit 2 with one line) or a lossless
import that validates clean; never a traceback or a hang, and nothing outside the store and
the database is written (a sentinel beside them keeps its bytes and time)."""

from __future__ import annotations

import json
import os
import resource
import sqlite3
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from migrator.adapters.dual_write import open_store
from migrator.adapters.json_store import JsonStore
from migrator.adapters.phase_state import Phase, PhaseState
from migrator.adapters.sql_store import SqlStore
from migrator.errors import DocumentError, UnsafePartitionError
from migrator.schemas.codec import MAX_DEPTH, canonical_bytes
from migrator.schemas.declaration import Schema
from migrator.schemas.jsontext import JsonDecodeError, dumps_pretty, loads
from tests.conftest import FIXTURES
from tests.reliability import tally
from tests.reliability.harness import CHILD_TIMEOUT, child_env, cli, run_all
from tests.schemas.samples import session
from tests.writers import writer_command

HOSTILE = FIXTURES / "hostile"
REJECTED, ONE_LINE = "rejected", "one line"


@dataclass(frozen=True)
class Case:
    """A store to try, and what must come of it: `words` in the reject (file refused, import
    exit 1, validate exit 2 with one line naming the file), or `imported` documents that
    validate clean (exit 0 both)."""

    name: str
    build: Callable[[Path], None]
    words: str | None = None
    imported: int = 0
    #: Records rejected one by one (the file itself is readable): import exit 1, validate 1.
    records_rejected: int = 0


class _Copy:
    """Copy committed corpus files into the store."""

    def __init__(self, *names: str, source: Path = HOSTILE) -> None:
        self.names, self.source = names, source

    def __call__(self, json_dir: Path) -> None:
        for name in self.names:
            (json_dir / name).write_bytes((self.source / name).read_bytes())


_copy = _Copy


def _write(name: str, data: Callable[[], bytes]) -> Callable[[Path], None]:
    def build(json_dir: Path) -> None:
        (json_dir / name).write_bytes(data())

    return build


def _doc_text(**extra: str) -> bytes:
    """One session as JSON text, with raw JSON text spliced in for `extra` keys."""
    text = json.dumps(session("s1"), indent=2)[:-2]
    for key, raw in extra.items():
        text += f',\n  "{key}": {raw}'
    return f"[{text}\n}}]".encode()


def _deep(levels: int, kind: str) -> bytes:
    opening, closing = ("[", "]") if kind == "array" else ('{"a": ', "}")
    return _doc_text(deep=opening * levels + "1" + closing * levels)


def _big_string(megabytes: int) -> Callable[[Path], None]:
    def build(json_dir: Path) -> None:
        head, tail = _doc_text(blob='"@"').split(b'"@"')
        with (json_dir / "big.json").open("wb") as out:
            out.write(head + b'"')
            chunk = ("é€😀 " * 10_000).encode()  # UTF-8 of 1 to 4 bytes
            for _ in range(megabytes * 1_000_000 // len(chunk)):
                out.write(chunk)
            out.write(b'"' + tail)

    return build


def _repeated_deep_key() -> bytes:
    """Two sessions as the stores write them, the second's first message holding its
    `content` twice (the text every other check is spared for: see schemas/jsontext.py)."""
    text = dumps_pretty([session("s0"), session("s1")])
    second = text.index(b'"s1-m0"')
    return text[:second] + text[second:].replace(b'"role"', b'"content": "lost",\n "role"', 1)


def _symlink_out(json_dir: Path) -> None:
    (json_dir / "evil.json").symlink_to(json_dir.parent / "outside" / "sentinel.json")
    (json_dir / "fine.json").write_bytes(_doc_text())


def _pipe(json_dir: Path) -> None:
    os.mkfifo(json_dir / "pipe.json")
    (json_dir / "dir.json").mkdir()


FILE_CASES = [
    Case("invalid UTF-8", _copy("invalid_utf8.json"), "not valid UTF-8"),
    Case("byte order mark", _copy("byte_order_mark.json"), "byte order mark"),
    Case("NaN", _copy("nan.json"), "NaN is not a JSON number"),
    Case("Infinity", _copy("infinity.json"), "-Infinity is not a JSON number"),
    Case("1e400", _copy("overflowing_float.json"), "infinity when parsed as double"),
    Case("duplicate keys", _copy("duplicate_keys.json"), "key 'task' appears twice"),
    Case(
        "a duplicate key deep in a child, in the stores' own format",
        _write("deep_repeat.json", lambda: _repeated_deep_key()),
        "key 'content' appears twice in one object of record 1",
    ),
    Case("lone surrogate", _copy("lone_surrogate.json"), "no low surrogate"),
    Case("raw NUL in a string", _copy("raw_control_character.json"), "control character"),
    Case("truncated file", _copy("truncated.json"), "unexpected end of data"),
    Case("trailing garbage", _copy("trailing_garbage.json"), "unexpected content after"),
    Case("empty file", _copy("empty.json", source=FIXTURES / "bad"), "empty file"),
    Case(
        "an object, not an array",
        _copy("not_an_array.json", source=FIXTURES / "bad"),
        "expected a JSON array of documents, found an object",
    ),
    Case(
        "nesting 10,000 deep (arrays)",
        _write("deep.json", lambda: _deep(10_000, "array")),
        "depth limit exceeded",
    ),
    Case(
        "nesting 10,000 deep (objects), with a long integer",
        _write("deep.json", lambda: _deep(10_000, "object").replace(b"1}", b"1" * 30 + b"}", 1)),
        "nested too deeply",
    ),
    Case(
        "a 5,000-digit integer",
        _write("huge.json", lambda: _doc_text(n="7" * 5000)),
        "Exceeds the limit (4300 digits)",
    ),
    Case("a link out of the store", _symlink_out, "outside the store; refused", imported=1),
    Case("a named pipe and a directory", _pipe, "not a regular file"),
    Case("SQL in ids", _copy("sql_in_ids.json"), imported=3),
    Case("400-digit numbers", _copy("long_numbers.json"), imported=1),
    Case(
        f"nesting {MAX_DEPTH + 1} deep: the record is rejected",
        _write("deep.json", lambda: _deep(MAX_DEPTH, "object")),
        f"nested deeper than {MAX_DEPTH} levels",
        records_rejected=1,
    ),
    Case(
        "records that are not documents",
        _copy("not_documents.json"),
        "expected a JSON object, got integer",
        imported=1,
        records_rejected=4,
    ),
]


@dataclass(frozen=True)
class Ran:
    """How one command ended."""

    returncode: int
    stdout: str
    stderr: str


@dataclass
class Tried:
    case: Case
    import_run: Ran
    validate_run: Ran
    seconds: float
    problems: list[str]


def _run_commands(*commands: list[str], cwd: Path) -> list[Ran]:
    """The commands one after the other in one child process (`tests.writers commands`),
    with a timeout."""
    argv = writer_command("commands")
    for command in commands:
        argv += [*command, ":::"]
    try:
        done = subprocess.run(
            argv[:-1],
            capture_output=True,
            text=True,
            cwd=cwd,
            env=child_env(),
            timeout=CHILD_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"hung: {exc.stderr!r}") from None
    if done.returncode != 0:
        raise AssertionError(f"the command runner failed: {done.stderr[-2000:]}")
    return [Ran(r["code"], r["stdout"], r["stderr"]) for r in json.loads(done.stdout)]


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            cli(*args),
            capture_output=True,
            text=True,
            cwd=cwd,
            env=child_env(),
            timeout=CHILD_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise AssertionError(f"migrator {args[0]} hung") from None


def _snapshot(root: Path, skip: tuple[Path, ...]) -> dict[str, tuple[int, int]]:
    """path -> (size, mtime) of every file under `root` outside `skip`."""
    found = {}
    for path in root.rglob("*"):
        if any(path == s or s in path.parents for s in skip) or path.is_dir():
            continue
        info = path.lstat()
        found[str(path)] = (info.st_size, info.st_mtime_ns)
    return found


def _try(case: Case, root: Path) -> Tried:
    json_dir, db_dir, cwd = root / "json", root / "db", root / "cwd"
    for directory in (json_dir, db_dir, cwd, root / "outside"):
        directory.mkdir(parents=True)
    sentinel = root / "outside" / "sentinel.json"
    sentinel.write_bytes(json.dumps([session("secret")]).encode())
    case.build(json_dir)
    db = db_dir / "sessions.db"
    before = _snapshot(root, (json_dir / ".migrator", db_dir))
    started = time.monotonic()
    store = ["--json-dir", str(json_dir), "--db", str(db)]
    imported, validated = _run_commands(
        ["import", *store, "--quiet", "--format", "json"], ["validate", *store, "--quiet"], cwd=cwd
    )
    seconds = time.monotonic() - started
    problems = [
        f"{p} changed"
        for p in _differences(before, _snapshot(root, (json_dir / ".migrator", db_dir)))
    ]
    problems += [
        f"{name}: traceback"
        for name, r in (("import", imported), ("validate", validated))
        if "Traceback" in r.stdout + r.stderr
    ]
    if sentinel.read_bytes() != json.dumps([session("secret")]).encode():
        problems.append("the sentinel outside the store changed")
    if list(cwd.iterdir()):
        problems.append(f"files written in the working directory: {list(cwd.iterdir())}")
    return Tried(case, imported, validated, seconds, problems)


def _differences(
    before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]]
) -> list[str]:
    return sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))


def _check(tried: Tried) -> list[str]:
    """What is wrong with how a case was handled ([] when it is right)."""
    case, imp, val = tried.case, tried.import_run, tried.validate_run
    problems = list(tried.problems)
    refused_file = case.words is not None and not case.records_rejected
    try:
        summary = json.loads(imp.stdout)
    except ValueError:
        return [*problems, f"import exit {imp.returncode}, no JSON summary: {imp.stderr[-800:]}"]
    errors = [r["error"] for r in summary.get("rejects", [])]
    expected_exit = 1 if case.words else 0
    if imp.returncode != expected_exit:
        problems.append(f"import exit {imp.returncode}, not {expected_exit}: {imp.stderr[-500:]}")
    if case.words and not any(case.words in e for e in errors):
        problems.append(f"no reject says {case.words!r}: {errors}")
    if any("\n" in e for e in errors):
        problems.append("a reject's error spans lines")
    if summary["imported"] != case.imported:
        problems.append(f"imported {summary['imported']}, not {case.imported}")
    if refused_file:
        if (
            val.returncode != 2
            or not val.stderr.startswith("error: ")
            or val.stderr.count("\n") != 1
        ):
            problems.append(
                f"validate exit {val.returncode}, not one error line: {val.stderr[-500:]}"
            )
        elif case.words not in val.stderr:
            problems.append(f"validate's error does not say {case.words!r}: {val.stderr}")
    elif val.returncode != (1 if case.records_rejected else 0):
        problems.append(f"validate exit {val.returncode}: {val.stdout[-500:]} {val.stderr[-500:]}")
    return problems


def test_every_hostile_fixture_is_tried() -> None:
    """A new file in fixtures/hostile must be given a case here."""
    used = {
        name
        for case in FILE_CASES
        if isinstance(case.build, _Copy) and case.build.source == HOSTILE
        for name in case.build.names
    }
    assert {p.name for p in HOSTILE.iterdir()} == used


def test_hostile_files_get_a_clear_error_or_a_lossless_import(tmp_path: Path) -> None:
    """Every case: the right reject or a clean import, no traceback, no hang, nothing written
    outside the store and the database."""
    roots = [tmp_path / f"case{n}" for n in range(len(FILE_CASES))]
    tried = run_all([(lambda c=c, r=r: _try(c, r)) for c, r in zip(FILE_CASES, roots, strict=True)])
    tally.hostile_tried(len(tried))
    failures = [f"{t.case.name}: {'; '.join(p)}" for t in tried if (p := _check(t))]
    slowest = max(tried, key=lambda t: t.seconds)
    print(f"hostile files: {len(tried)} cases, slowest {slowest.case.name} {slowest.seconds:.1f}s")
    assert not failures, "\n".join(failures)


def test_long_numbers_and_sql_ids_survive_exactly(tmp_path: Path, sessions_schema: Schema) -> None:
    """400-digit integers stay exact integers in the database, and ids holding SQL are data:
    every table is still there and the documents come back byte for byte."""
    tried = [
        _try(case, tmp_path / case.name.replace(" ", "-"))
        for case in FILE_CASES
        if case.name in ("SQL in ids", "400-digit numbers")
    ]
    for t in tried:
        assert _check(t) == [], t.case.name
    db = tmp_path / "400-digit-numbers" / "db" / "sessions.db"
    store = SqlStore(db, sessions_schema, create=False)
    try:
        [doc] = store.list("long_numbers")
    finally:
        store.close()
    assert doc["big"] == int("9" * 400) and doc["small"] == -int("1234567890" * 40)
    # A decimal fraction is a binary double to every reader, the application's included.
    assert doc["ratio"] == float("0." + "3" * 400)
    db = tmp_path / "SQL-in-ids" / "db" / "sessions.db"
    json_store = JsonStore(HOSTILE, sessions_schema)
    store = SqlStore(db, sessions_schema, create=False)
    try:
        assert {d["id"]: canonical_bytes(d) for d in store.list("sql_in_ids")} == {
            d["id"]: canonical_bytes(d) for d in json_store.list("sql_in_ids")
        }
        assert store.table_counts()["sessions"] == 3
    finally:
        store.close()
    tables = sqlite3.connect(db).execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    assert {"sessions", "workspaces", "chat_messages"} <= {name for (name,) in tables}


def test_a_200_megabyte_string_imports_and_validates(tmp_path: Path, soak: bool) -> None:
    """A document holding a 200 MB string (20 MB without --soak): imported and validated clean
    in seconds, byte for byte (peak memory of the child processes printed)."""
    megabytes = 200 if soak else 20
    case = Case(f"a {megabytes} MB string", _big_string(megabytes), imported=1)
    tried = _try(case, tmp_path)
    tally.hostile_tried()
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024
    print(f"{case.name}: import + validate {tried.seconds:.1f}s, child peak RSS {peak} MB")
    assert _check(tried) == []


# --------------------------------------------------------------------------- names


def test_partition_names_that_climb_out_are_refused(
    tmp_path: Path, sessions_schema: Schema
) -> None:
    """`../` in a partition name, from the API, the command line or a crafted database row,
    is refused with one line; nothing is written outside the store."""
    json_dir, db = tmp_path / "store" / "json", tmp_path / "store" / "sessions.db"
    json_dir.mkdir(parents=True)
    sentinel = tmp_path / "outside.json"
    sentinel.write_bytes(b"[]")
    names = ["../outside", "../../etc/passwd", "a/../../b", "..", ".", "", "a\x00b", "/abs"]
    tally.hostile_tried(len(names) + 4)
    sql = SqlStore(db, sessions_schema)
    sql.init_schema()
    sql.close()
    for phase in (Phase.JSON_ONLY, Phase.DUAL_WRITE, Phase.SQLITE_PRIMARY):
        PhaseState(json_dir).update(lambda record, phase=phase: record.moved(phase))
        with open_store(json_dir, db, sessions_schema) as store:
            for name in names:
                with pytest.raises(UnsafePartitionError):
                    store.put(name, session(f"s-{phase}"))
                with pytest.raises(UnsafePartitionError):
                    store.list(name)
    store_args = ["--json-dir", str(json_dir), "--db", str(db)]
    for args in (
        ["validate", *store_args, "--partition", "../outside"],
        ["export", "--db", str(db), "--out", str(tmp_path / "out"), "--partition", "../outside"],
    ):
        result = _run(args, tmp_path)
        assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    raw = sqlite3.connect(db)
    raw.execute(
        "INSERT INTO sessions (id, workspace_hash, session_type, task, status, created_at, "
        "updated_at, position) VALUES ('s', '../outside', 'ensemble', 't', 'running', 'c', 'u', 0)"
    )
    raw.commit()
    raw.close()
    for args in (
        ["export", "--db", str(db), "--out", str(tmp_path / "out2")],
        ["validate", *store_args],
    ):
        result = _run(args, tmp_path)
        assert result.returncode in (1, 2) and "Traceback" not in result.stderr, result.stderr
        if result.returncode == 2:
            assert result.stderr.count("\n") == 1, result.stderr
    # "../outside" from the export directory is the sentinel itself.
    assert sentinel.read_bytes() == b"[]"
    assert not [p for p in tmp_path.rglob("*.json") if p != sentinel and ".migrator" not in p.parts]


def test_duplicate_keys_are_refused_wherever_json_is_read(sessions_schema: Schema) -> None:
    """A key twice in one object is a decode error naming key, line and column, on both
    parsers (orjson, and the exact one integers beyond 64 bits need), nested or not; the
    colon count that spares clean files the slow parse is not fooled by colons in strings
    or escaped ones."""
    cases = {
        b'[{"a": 1, "a": 2}]': (1, 11),
        b'[{"x": {"k": "1:2",\n "k": "3"}}]': (2, 2),
        b'[{"n": 123456789012345678901234567890, "n": 1}]': (1, 40),
        b'[{"k\\u003a": 1, "k:": 2}]': (1, 17),
    }
    for text, (line, column) in cases.items():
        with pytest.raises(JsonDecodeError, match="appears twice") as caught:
            loads(text)
        assert (caught.value.line, caught.value.column) == (line, column), text
    clean = [b'[{"t": "10:00:00", "u": {"v": "a:b:c"}}]', b'[{"k\\u003a": 1, "k": 2}]']
    for text in clean:
        assert loads(text) == json.loads(text)
    tally.hostile_tried(len(cases) + len(clean))


def test_too_deep_documents_are_refused_by_every_writer(
    tmp_path: Path, sessions_schema: Schema
) -> None:
    """A document nested deeper than MAX_DEPTH is a DocumentError from every store, before
    anything is written; one just within the limit is written and read back exactly."""
    deep: object = "bottom"
    for _ in range(MAX_DEPTH - 1):
        deep = [deep]
    ok = session("ok", deep=deep)  # the document is level 1, the innermost list MAX_DEPTH
    too_deep = session("too-deep", deep=[deep])
    json_dir, db = tmp_path / "json", tmp_path / "sessions.db"
    sql = SqlStore(db, sessions_schema)
    sql.init_schema()
    sql.close()
    PhaseState(json_dir).update(lambda record: record.moved(Phase.DUAL_WRITE))
    with open_store(json_dir, db, sessions_schema) as store:
        store.put("ws", ok)
        assert canonical_bytes(store.sql.get("ok")) == canonical_bytes(ok)
        for target in (store, store.json, store.sql):
            with pytest.raises(DocumentError, match=f"nested deeper than {MAX_DEPTH}"):
                target.put("ws", too_deep)
        assert store.get("too-deep") is None and store.sql.get("too-deep") is None
    tally.hostile_tried(2)
