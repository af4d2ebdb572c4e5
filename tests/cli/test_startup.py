"""Start-up: a plain install (no psycopg) runs, and `--help` / `--version` import nothing heavy.

Each case runs in a fresh interpreter, since the test session itself has imported everything.
Timing is measured by `make bench` (bench/tasks.py), never asserted here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "fixtures" / "store"

#: What `migrator --help` must not import: each costs tenths of a second, or is optional.
HEAVY = ("sqlalchemy", "sqlmodel", "deepdiff", "psycopg", "pydantic", "adapters")
#: A command's own --help builds its options, and Typer checks their values with pydantic.
HEAVY_FOR_A_COMMAND = tuple(name for name in HEAVY if name != "pydantic")

#: Runs the CLI with psycopg made unimportable, as after `pip install .` without extras.
WITHOUT_PSYCOPG = """
import sys
sys.modules["psycopg"] = None  # `import psycopg` now raises ImportError
from migrator.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _python(code: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIGRATOR_")}
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize(
    ("argv", "heavy"),
    [
        (["--help"], HEAVY),
        (["--version"], HEAVY),
        (["import", "--help"], HEAVY_FOR_A_COMMAND),
        (["phase", "set", "--help"], HEAVY_FOR_A_COMMAND),
        (["backups", "--help"], HEAVY_FOR_A_COMMAND),
    ],
)
def test_help_and_version_import_nothing_heavy(
    tmp_path: Path, argv: list[str], heavy: tuple[str, ...]
) -> None:
    """`migrator --help`, `--version` and a command's --help load no database or diff library."""
    code = (
        "import sys\n"
        "from migrator.cli import main\n"
        f"code = main({argv!r})\n"
        f"heavy = sorted({{m.split('.')[0] for m in sys.modules}} & set({heavy!r}))\n"
        "print('HEAVY', ','.join(heavy), file=sys.stderr)\n"
        "sys.exit(code)\n"
    )
    result = _python(code, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "HEAVY \n" in result.stderr, result.stderr


def test_a_sqlite_import_runs_without_psycopg(tmp_path: Path) -> None:
    """With psycopg absent, `import migrator.cli` works and a SQLite import and validate run."""
    store = tmp_path / "store"
    shutil.copytree(FIXTURES, store)
    db = str(tmp_path / "app.db")
    imported = _python(
        WITHOUT_PSYCOPG, "import", "--json-dir", str(store), "--db", db, "-q", cwd=tmp_path
    )
    assert imported.returncode == 0, imported.stderr
    validated = _python(
        WITHOUT_PSYCOPG, "validate", "--json-dir", str(store), "--db", db, "-q", cwd=tmp_path
    )
    assert validated.returncode == 0, validated.stdout + validated.stderr


def test_a_postgresql_url_without_psycopg_is_one_line_naming_the_extra(tmp_path: Path) -> None:
    """A postgresql:// URL without the driver: exit 2 and one line that says what to install."""
    result = _python(
        WITHOUT_PSYCOPG, "init", "--db", "postgresql://app:secret@localhost/app", cwd=tmp_path
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "pip install 'migrator[postgres]'" in lines[0]
    assert "secret" not in result.stderr
    assert "Traceback" not in result.stderr


def test_the_phase_names_in_help_are_the_phases() -> None:
    """`phase set --help` lists the phases without importing them: the list stays true."""
    from migrator.adapters.phase_state import Phase
    from migrator.cli.commands_phase import PHASE_NAMES

    assert tuple(p.value for p in Phase) == PHASE_NAMES
