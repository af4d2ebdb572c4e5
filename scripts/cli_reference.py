"""Write docs/cli-reference.md from the Typer app: every command's `--help`, as a user sees it.

Run it after adding or changing a command or an option; `--check` exits 1 when the checked-in
page is not current (tests/test_cli_reference.py runs it). The output is deterministic: a fixed
terminal width, no colours, no MIGRATOR_* variables and no config file, since those would
change the defaults shown.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PAGE = REPO / "docs" / "cli-reference.md"
WIDTH = 80

HEADER = """# CLI reference

Every command's `--help`, generated from the Typer app by `scripts/cli_reference.py`: do not
edit this page by hand, run `python scripts/cli_reference.py` after changing a command.
`tests/test_cli_reference.py` fails while it is not current. Exit codes: [Exit
codes](exit-codes.md); settings from variables and files: [Configuration](configuration.md).
"""


def _fix_environment() -> None:
    """What typer and rich read at import time: the width, and no colours or forced terminal."""
    for name in list(os.environ):
        if name.startswith("MIGRATOR_") or name in {"FORCE_COLOR", "PY_COLORS", "GITHUB_ACTIONS"}:
            del os.environ[name]
    os.environ.update(
        TERMINAL_WIDTH=str(WIDTH),
        COLUMNS=str(WIDTH),
        NO_COLOR="1",
        TERM="dumb",
        _TYPER_FORCE_DISABLE_TERMINAL="1",
    )


def _command_paths(command: object, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every command and group below `command`, depth first, in name order."""
    yield path
    for name in sorted(getattr(command, "commands", {})):
        sub = command.commands[name]  # type: ignore[attr-defined]
        if not getattr(sub, "hidden", False):
            yield from _command_paths(sub, (*path, name))


def render() -> str:
    """The whole page."""
    _fix_environment()
    sys.path.insert(0, str(REPO))
    import typer.main
    from typer.testing import CliRunner

    from migrator.cli import app

    runner = CliRunner()
    sections = [HEADER]
    with tempfile.TemporaryDirectory() as empty:  # no migrator.toml or pyproject.toml here
        previous = Path.cwd()
        os.chdir(empty)
        try:
            for path in _command_paths(typer.main.get_command(app)):
                result = runner.invoke(app, [*path, "--help"], prog_name="migrator")
                if result.exit_code != 0:
                    raise SystemExit(f"migrator {' '.join(path)} --help: exit {result.exit_code}")
                text = "\n".join(line.rstrip() for line in result.output.splitlines()).strip("\n")
                sections.append(f"## {' '.join(('migrator', *path))}\n\n```text\n{text}\n```\n")
        finally:
            os.chdir(previous)
    return "\n".join(sections)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the page is not current")
    parser.add_argument("--output", type=Path, default=PAGE, help="the page (default: %(default)s)")
    args = parser.parse_args()
    page = render()
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != page:
            print(f"{args.output} is not current: run python scripts/cli_reference.py")
            return 1
        return 0
    args.output.write_text(page, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
