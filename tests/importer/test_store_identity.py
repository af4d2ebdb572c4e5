"""A database knows which JSON store it mirrors (issue 16, point 6): importing another store is
refused unless --force, an old pair adopts an identity, an empty --json-dir makes no database."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from migrator.adapters.sql_store import SqlStore
from migrator.adapters.store_identity import ID_KEY, json_store_id
from migrator.schemas.declaration import Schema
from tests.importer.conftest import table_rows


def _import(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "migrator", "import", "--quiet", "--no-snapshot", *args],
        capture_output=True,
        text=True,
        check=False,
    )


def _second_store(fixture_store_dir: Path) -> Path:
    """Another JSON store: a copy of the first's files without its state directory, one gone."""
    other = fixture_store_dir.parent / "other"
    other.mkdir()
    files = sorted(fixture_store_dir.glob("*.json"))
    for file in files[1:]:
        shutil.copy(file, other / file.name)
    return other


def test_importing_a_second_store_is_refused_and_changes_nothing(
    fixture_store_dir: Path, sql_path: Path, sessions_schema: Schema
) -> None:
    first = _import("--json-dir", str(fixture_store_dir), "--db", str(sql_path))
    assert first.returncode == 0, first.stderr
    other = _second_store(fixture_store_dir)
    store = SqlStore(str(sql_path), sessions_schema)
    try:
        before = table_rows(store)
        refused = _import("--json-dir", str(other), "--db", str(sql_path), "--prune")
        assert refused.returncode == 2
        assert refused.stderr.count("\n") == 1 and refused.stderr.startswith("error: ")
        assert str(fixture_store_dir.resolve()) in refused.stderr and str(other) in refused.stderr
        assert "Traceback" not in refused.stderr
        assert table_rows(store) == before
        assert store.meta_value(ID_KEY) == json_store_id(fixture_store_dir)
    finally:
        store.close()


def test_force_imports_another_store_and_makes_the_database_mirror_it(
    fixture_store_dir: Path, sql_path: Path, sessions_schema: Schema
) -> None:
    assert _import("--json-dir", str(fixture_store_dir), "--db", str(sql_path)).returncode == 0
    other = _second_store(fixture_store_dir)
    forced = _import("--json-dir", str(other), "--db", str(sql_path), "--force")
    assert forced.returncode == 0, forced.stderr
    store = SqlStore(str(sql_path), sessions_schema)
    try:
        assert store.meta_value(ID_KEY) == json_store_id(other) is not None
        assert json_store_id(other) != json_store_id(fixture_store_dir)
    finally:
        store.close()
    again = _import("--json-dir", str(other), "--db", str(sql_path))
    assert again.returncode == 0, again.stderr


def test_a_pair_from_before_identities_adopts_one_silently(
    fixture_store_dir: Path, sql_path: Path, sessions_schema: Schema
) -> None:
    assert _import("--json-dir", str(fixture_store_dir), "--db", str(sql_path)).returncode == 0
    # Forget the identity on both sides, as before this change.
    (fixture_store_dir / ".migrator" / "store-id").unlink()
    store = SqlStore(str(sql_path), sessions_schema)
    try:
        with store.engine.begin() as conn:
            conn.exec_driver_sql("DELETE FROM migrator_meta WHERE key LIKE 'store_%'")
        again = _import("--json-dir", str(fixture_store_dir), "--db", str(sql_path))
        assert again.returncode == 0, again.stderr
        assert again.stderr == ""
        adopted = json_store_id(fixture_store_dir)
        assert adopted is not None and store.meta_value(ID_KEY) == adopted
    finally:
        store.close()


def test_an_empty_json_dir_warns_and_creates_no_database(tmp_path: Path, sql_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = _import("--json-dir", str(empty), "--db", str(sql_path))
    assert result.returncode == 0
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("warning: ")
    assert str(empty) in result.stderr
    assert not sql_path.exists()


def test_entering_dual_write_with_another_stores_database_is_refused(
    fixture_store_dir: Path, sql_path: Path, sessions_schema: Schema
) -> None:
    """`phase set dual-write` names the store a database mirrors: the application's writes
    would otherwise mix two stores in it. --force cannot pass it; the store's own database can,
    and that database carries the store's identity after."""
    assert _import("--json-dir", str(fixture_store_dir), "--db", str(sql_path)).returncode == 0
    other = _second_store(fixture_store_dir)
    move = [sys.executable, "-m", "migrator", "phase", "set", "dual-write", "--json-dir"]
    for force in ([], ["--force"]):
        refused = subprocess.run(
            [*move, str(other), "--db", str(sql_path), *force], capture_output=True, text=True
        )
        assert refused.returncode != 0
        assert "mirrors another JSON store" in refused.stderr + refused.stdout
        assert str(fixture_store_dir.resolve()) in refused.stderr + refused.stdout
        assert "Traceback" not in refused.stderr
        assert not (other / ".migrator" / "phase.json").exists()
    own_db = sql_path.parent / "own.db"
    entered = subprocess.run(
        [*move, str(other), "--db", str(own_db)], capture_output=True, text=True
    )
    assert entered.returncode == 0, entered.stderr
    store = SqlStore(str(own_db), sessions_schema)
    try:
        assert store.meta_value(ID_KEY) == json_store_id(other) is not None
    finally:
        store.close()
