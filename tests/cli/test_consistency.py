"""Consistency (issue 16, point 12): every phase command takes the same J="--json-dir ...
--db ...", and recorded times are shown one way (`2026-12-06 04:18:21`)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

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


def test_every_text_or_json_format_is_one_option() -> None:
    """Issue 20 point 1's one text/json format: every command whose --format is text or json
    shows the same help and takes the values the same way (found from outside: four
    declarations, three helps, and only `config` taking `--format JSON`)."""
    import typer

    from migrator.cli import app
    from migrator.cli.options import OutputFormat

    def options(group: Any) -> list[Any]:
        found: list[Any] = []
        for command in group.commands.values():
            if hasattr(command, "commands"):
                found += options(command)
                continue
            found += [
                p
                for p in command.params
                if "--format" in getattr(p, "opts", ())
                and p.type_descriptor.annotation is OutputFormat
            ]
        return found

    formats = options(typer.main.get_command(app))
    assert len(formats) >= 8
    shown = {(p.help, p.type_descriptor.parameter_info.case_sensitive) for p in formats}
    assert len(shown) == 1, shown
