"""Consistency (issue 16, point 12): every phase command takes the same J="--json-dir ...
--db ...", and recorded times are shown one way (`2026-12-06 04:18:21`)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from tests.cli.hints import run

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "store"
J = ["--json-dir", "data", "--db", "app.db"]
SHOWN_TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")
ISO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d")


def test_every_phase_command_takes_the_same_stores(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES, tmp_path / "data")
    for args in (
        ["phase", "set", "dual-write", *J],
        ["import", *J, "-q"],
        ["validate", *J],
        ["phase", "configure", *J, "--shadow-rate", "0.1"],
        ["phase", "show", *J],
        ["status", *J],
        ["check", *J],
    ):
        result = run(args, tmp_path)
        assert result.returncode == 0, (args, result.stdout, result.stderr)
        assert not ISO_TIME.search(result.stdout), result.stdout
    shown = run(["phase", "show", *J], tmp_path).stdout
    assert SHOWN_TIME.search(shown), shown
    assert "json-only -> dual-write" in shown
    status = run(["status", *J], tmp_path).stdout
    assert len(SHOWN_TIME.findall(status)) >= 3, status  # since, last import, last validation
