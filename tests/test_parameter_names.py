"""Library messages name parameters as a Python caller wrote them (`batch_size`); the command
line shows the same message with its flags (`--batch-size`), mapped in one place,
`migrator.cli.flags` (issue 20 point 5)."""

from __future__ import annotations

import ast
import json
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

import migrator
from migrator.cli import app
from migrator.cli.flags import flag, with_flags
from migrator.errors import MigratorError, PhaseError, UsageError
from migrator.phases import configure_shadow

ROOT = Path(__file__).resolve().parent.parent
#: Where the library lives (the CLI, which speaks in flags, is left out).
LIBRARY = [ROOT / "migrator", ROOT / "adapters", ROOT / "schemas"]


def test_python_callers_read_parameter_names(fixture_store_dir: Path, tmp_path: Path) -> None:
    """Each refusal names the parameter the caller passed, never a flag it did not."""
    db = tmp_path / "app.db"
    cases = [
        (lambda: migrator.import_store(fixture_store_dir, db, batch_size=0), "batch_size"),
        (lambda: migrator.import_store(fixture_store_dir, db, max_errors=-1), "max_errors"),
        (lambda: migrator.import_store(tmp_path / "nowhere", db), "json_dir"),
        (lambda: configure_shadow(fixture_store_dir, rate=2.0), "rate"),
        (lambda: migrator.import_store(fixture_store_dir, tmp_path / "no" / "app.db"), "db"),
    ]
    for call, parameter in cases:
        with pytest.raises(UsageError) as caught:
            call()
        assert str(caught.value).startswith(f"{parameter} "), str(caught.value)
        assert caught.value.parameters == (parameter,)
        assert "--" not in str(caught.value)
    migrator.import_store(fixture_store_dir, db)
    for call, parameter in [
        (lambda: migrator.validate(fixture_store_dir, db, sample=0), "sample"),
        (lambda: migrator.validate(fixture_store_dir, db, max_details=-1), "max_details"),
        (lambda: migrator.validate(fixture_store_dir, db, partitions=["nope"]), "partitions"),
        (lambda: migrator.validate(fixture_store_dir, db, ignore_paths=["("]), "ignore_paths"),
    ]:
        with pytest.raises(UsageError, match=rf"^{parameter} ") as caught:
            call()
        assert "--" not in str(caught.value)


def test_a_refused_move_says_force_as_python_spells_it(
    fixture_store_dir: Path, tmp_path: Path
) -> None:
    """A guard's refusal from Python says `force=True`; the CLI's says `--force`."""
    db = tmp_path / "app.db"
    migrator.set_phase(fixture_store_dir, db, "sessions", "dual-write")
    migrator.import_store(fixture_store_dir, db)
    with pytest.raises(PhaseError, match=r"or pass force=True$") as caught:
        migrator.set_phase(fixture_store_dir, db, "sessions", "sqlite-primary")
    assert "--" not in str(caught.value).split("(run:")[0]
    stores = ["--json-dir", str(fixture_store_dir), "--db", str(db)]
    result = CliRunner().invoke(app, ["phase", "set", "sqlite-primary", *stores])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: cannot enter sqlite-primary")
    assert result.stderr.endswith("; or pass --force\n")


def test_the_cli_shows_flags(fixture_store_dir: Path, tmp_path: Path) -> None:
    """The same refusals through the command line name the flags."""
    missing = tmp_path / "nowhere"
    result = CliRunner().invoke(
        app, ["import", "--json-dir", str(missing), "--db", str(tmp_path / "app.db")]
    )
    assert result.exit_code == 2
    assert result.stderr == f"error: --json-dir {missing}: no such directory\n"
    full = tmp_path / "full"
    full.mkdir()
    (full / "x.txt").write_text("x")
    migrator.import_store(fixture_store_dir, tmp_path / "app.db")
    result = CliRunner().invoke(
        app, ["export", "--db", str(tmp_path / "app.db"), "--out", str(full)]
    )
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: --out {full}: not empty; choose an empty directory or pass --force\n"
    )


@pytest.mark.parametrize(
    ("parameter", "expected"),
    [
        ("batch_size", "--batch-size"),
        ("json_dir", "--json-dir"),
        ("force=True", "--force"),
        ("restore_json=True", "--json"),
        ("ignore_paths", "--ignore-path"),
        ("partitions", "--partition"),
        ("out_dir", "--out"),
        ("rate", "--shadow-rate"),
        ("snapshot=False", "--no-snapshot"),
        ("schema=...", "--schema"),
        ("folder=...", "--migrations"),
    ],
)
def test_each_parameter_has_its_flag(parameter: str, expected: str) -> None:
    assert flag(parameter) == expected


def test_only_the_named_mention_is_replaced() -> None:
    """The first whole-word mention of each named parameter, not a word that contains it
    (`out` inside a path) nor one the error does not name."""
    error = UsageError(
        "out /tmp/out/x: not empty; pass force=True (out of space?)",
        parameters=["out", "force=True"],
    )
    assert with_flags(error, str(error)) == (
        "--out /tmp/out/x: not empty; pass --force (out of space?)"
    )
    plain = MigratorError("batch_size is fine here")
    assert with_flags(plain, str(plain)) == "batch_size is fine here"


def _raised_texts(path: Path) -> list[tuple[int, str]]:
    """The literal text of each `raise` in a module (f-strings' constant parts), without the
    commands quoted in backticks (`migrator import --prune` is a command to run, not a flag)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Raise) or node.exc is None:
            continue
        parts = [
            n.value
            for n in ast.walk(node.exc)
            if isinstance(n, ast.Constant) and isinstance(n.value, str)
        ]
        found.append((node.lineno, re.sub(r"`[^`]*`", "", "".join(parts))))
    return found


def test_no_library_error_names_a_flag() -> None:
    """No `raise` in migrator/ (but the CLI), adapters/ or schemas/ writes a `--flag`."""
    offenders = [
        f"{path.relative_to(ROOT)}:{line}: {text[:60]}"
        for folder in LIBRARY
        for path in sorted(folder.rglob("*.py"))
        if "cli" not in path.relative_to(ROOT).parts and not path.is_symlink()
        for line, text in _raised_texts(path)
        if re.search(r"(^|[\s(])--[a-z]", text)
    ]
    assert offenders == []


def test_an_import_stopped_by_its_budget_names_the_parameter_then_the_flag(
    fixture_store_dir: Path, tmp_path: Path
) -> None:
    """An import past its error budget: `ImportSummary.stopped` from Python says
    `max_errors=0`; the CLI's table title and stderr line say `--max-errors=0`."""
    store = tmp_path / "store"
    shutil.copytree(fixture_store_dir, store)
    first = sorted(store.glob("*.json"))[0]
    records = json.loads(first.read_text(encoding="utf-8"))
    records[0]["status"] = "exploded"
    first.write_text(json.dumps(records), encoding="utf-8")
    summary = migrator.import_store(store, tmp_path / "python.db", max_errors=0)
    assert summary.stopped == "1 reject exceeds max_errors=0"
    db = tmp_path / "cli.db"
    result = CliRunner().invoke(
        app, ["import", "--json-dir", str(store), "--db", str(db), "--max-errors", "0"]
    )
    assert result.exit_code == 1
    assert "import stopped early: 1 reject exceeds --max-errors=0" in result.stdout
    assert result.stderr.startswith("stopped: 1 reject exceeds --max-errors=0; ")
    assert "max_errors" not in result.stdout + result.stderr


def test_an_undecidable_phase_asks_for_the_parameter_then_the_flag(
    fixture_store_dir: Path, tmp_path: Path
) -> None:
    """Both stores hold documents and nothing says the phase: `recover_phase` asks a Python
    caller for `phase=...`, `migrator phase recover` for `--phase`."""
    store, db = tmp_path / "store", tmp_path / "app.db"
    shutil.copytree(fixture_store_dir, store)
    migrator.import_store(store, db)
    for state_file in (store / ".migrator").iterdir():
        if state_file.is_file():
            state_file.unlink()  # no history or journal says it, and the phase file is damaged
    (store / ".migrator" / "phase.json").write_text("garbage")
    with pytest.raises(PhaseError, match=r"recover again with phase=\.\.\. saying which$"):
        migrator.recover_phase(store, db)
    stores = ["--json-dir", str(store), "--db", str(db)]
    result = CliRunner().invoke(app, ["phase", "recover", *stores])
    assert result.exit_code == 2
    assert result.stderr.endswith("recover again with --phase saying which\n")
