"""Every table the command line prints fits a real 80-column terminal (issue 16, point 8):
rendered into `Console(width=80)` from real results, no line is wider, no column is squeezed
out (every header word is there), and no id, name, size or time is cut or broken across lines.
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
from rich.console import Console, RenderableType

from migrator.adapters.json_store import JsonStore
from migrator.adapters.phase_state import Phase
from migrator.adapters.sql_store import SqlStore
from migrator.backup import create_backup, snapshot_before
from migrator.backup_retention import list_backups
from migrator.cli.commands_import import _print_summary
from migrator.cli.report import validation_text
from migrator.cli.tables import backups_table, doctor_table, history_table, settings_table
from migrator.cli.text import size_text
from migrator.doctor import diagnose
from migrator.history import read_runs, record_run
from migrator.importer import import_store
from migrator.phases import set_phase
from migrator.schemas.declaration import Schema
from migrator.validator import validate

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "store"
WIDTH = 80
IMPORT_HEADERS = ("partition", "status", "read", "imported", "unchanged", "rejected", "gone")
IMPORT_HEADERS += ("time", "docs/s")
#: An id as long as a UUID and then some: still never broken at 80 columns.
LONG_ID = "a-document-id-longer-than-a-uuid-0000-1111-2222"


def render(*items: RenderableType, width: int = WIDTH) -> list[str]:
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, color_system=None, highlight=False)
    for item in items:
        console.print(item)
    return buffer.getvalue().splitlines()


def assert_fits(
    lines: list[str], *, headers: list[str], whole: list[str], ellipsis: bool = False
) -> None:
    """No line past 80; each header's words shown; each `whole` value on one line, uncut."""
    text = "\n".join(lines)
    too_wide = [line for line in lines if len(line) > WIDTH]
    assert not too_wide, "\n".join(too_wide)
    for header in headers:
        for word in header.split():
            assert word in text, f"header {header!r} lost at {WIDTH} columns:\n{text}"
    for value in whole:
        assert any(value in line for line in lines), f"{value!r} cut or broken:\n{text}"
    if not ellipsis:
        assert "…" not in text, text


@pytest.fixture
def stores(tmp_path: Path, sessions_schema: Schema) -> tuple[Path, Path]:
    json_dir = tmp_path / "json"
    shutil.copytree(FIXTURES, json_dir)
    db = tmp_path / "app.db"
    sql = SqlStore(db, sessions_schema)
    import_store(JsonStore(json_dir, sessions_schema), sql)
    sql.close()
    return json_dir, db


def test_validate_findings_fit(stores: tuple[Path, Path], sessions_schema: Schema) -> None:
    json_dir, db = stores
    partition = sorted(json_dir.glob("*.json"))[0]
    documents = json.loads(partition.read_text(encoding="utf-8"))
    changed_id, removed_id = documents[0]["id"], documents[1]["id"]
    documents[0]["task"] = "a new task " * 8
    del documents[1]
    documents.append(dict(documents[2], id=LONG_ID))
    partition.write_text(json.dumps(documents), encoding="utf-8")
    sql = SqlStore(db, sessions_schema, create=False)
    report = validate(JsonStore(json_dir, sessions_schema), sql)
    sql.close()
    assert not report.ok
    lines = render(*validation_text(report))
    assert_fits(
        lines,
        headers=["partition / id", "finding"],
        whole=[partition.stem, changed_id, removed_id, LONG_ID, "missing_in_sqlite"],
        ellipsis=True,  # a long value is shortened on purpose (report.short)
    )
    assert all("…" not in line for line in lines if changed_id in line or LONG_ID in line)


def test_backups_fit(stores: tuple[Path, Path], sessions_schema: Schema) -> None:
    """The longest reason a snapshot gets, a tampered backup: names, sizes, checksums all shown."""
    json_dir, db = stores
    create_backup(json_dir, db, sessions_schema)
    snapshot_before("phase-sqlite-primary", json_dir, db, sessions_schema)
    tampered = create_backup(json_dir, db, sessions_schema, reason="manual").path
    (tampered / "json-store.tar.gz").write_bytes(b"not the archive any more")
    infos = list_backups(json_dir / ".migrator" / "backups")
    assert len(infos) == 3 and any(info.verified is False for info in infos)
    names = [info.path.name for info in infos]
    sizes = [size_text(info.manifest.size) for info in infos if info.manifest]
    assert max(map(len, names)) >= 50  # ...Z-before-phase-sqlite-primary
    assert_fits(
        render(backups_table(infos)),
        headers=["backup", "size", "phase", "checksums"],
        whole=[*names, *sizes, "FAILED", "json-only"],
    )


def test_history_fits(stores: tuple[Path, Path], sessions_schema: Schema) -> None:
    json_dir, db = stores
    with record_run(json_dir, "validate") as run:
        run.counts = {
            "json": 36,
            "sqlite": 36,
            "matched": 33,
            "missing_in_sqlite": 1,
            "missing_in_json": 1,
            "mismatched": 1,
        }
        run.outcome = "differences"
    with record_run(json_dir, "phase set"):
        set_phase(json_dir, db, sessions_schema, Phase.DUAL_WRITE)
    with record_run(json_dir, "import") as run:
        run.counts = {"documents": 36, "imported": 36, "unchanged": 0, "rejected": 0}
        run.message = "stopped: 4 rejects exceed max_errors=3; 1,200 documents committed"
    runs = read_runs(json_dir, limit=20)
    lines = render(history_table(runs))
    assert_fits(
        lines,
        headers=["started (UTC)", "command", "outcome", "phase", "counts and message"],
        whole=[
            *(run.started_at[:19].replace("T", " ") for run in runs),
            "differences",
            "phase set",
            "dual-write",
            "missing_in_sqlite=1,",
        ],
    )
    # Counts share lines: not one count per line as before.
    assert any("json=36, sqlite=36" in line for line in lines)


def test_import_summary_fits(tmp_path: Path, sessions_schema: Schema) -> None:
    """Nine columns at 80, for a dry run too, with a rejected record in the store."""
    json_dir = tmp_path / "json"
    shutil.copytree(FIXTURES, json_dir)
    partition = sorted(json_dir.glob("*.json"))[0]
    documents = json.loads(partition.read_text(encoding="utf-8"))
    documents[0]["id"] = 12  # rejected: not a string
    partition.write_text(json.dumps(documents), encoding="utf-8")
    for dry_run in (True, False):
        sql = SqlStore(tmp_path / "app.db", sessions_schema)
        summary = import_store(JsonStore(json_dir, sessions_schema), sql, dry_run=dry_run)
        sql.close()
        buffer = io.StringIO()
        _print_summary(Console(file=buffer, width=WIDTH, color_system=None), summary)
        lines = buffer.getvalue().splitlines()
        # The reject lines below the table keep their file path whole (soft wrap) on purpose.
        table = lines[: next(i for i, line in enumerate(lines) if line.startswith("rejected"))]
        assert_fits(
            table,
            headers=[*IMPORT_HEADERS],
            whole=[
                *(p.name for p in summary.partitions),
                "total (3 files)",
                "to import" if dry_run else "imported",
            ],
        )


def test_doctor_fits(stores: tuple[Path, Path], sessions_schema: Schema) -> None:
    json_dir, db = stores
    report = diagnose(json_dir, db, sessions_schema)
    assert_fits(
        render(doctor_table(report)),
        headers=[],
        whole=[*(check.name for check in report.checks), "schema version"],
    )


def test_config_fits_and_keeps_backslashes() -> None:
    ignore = r"root\['updated_at'\]"
    settings = {
        "json_dir": ("/var/lib/a-rather-long-application-name/sessions", "config file"),
        "db": ("postgresql+psycopg://app:***@db.internal.example.org:5432/sessions", "flag"),
        "schema": ("sessions", "default"),
        "validate.ignore_path": (ignore, "config file"),
    }
    lines = render(settings_table(settings, "/srv/app/migrator.toml"))
    assert_fits(
        lines,
        headers=["setting", "value", "source"],
        whole=["validate.ignore_path", "config file", "default", ignore],
    )
