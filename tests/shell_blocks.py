"""The shell blocks of README.md and docs/**/*.md, run as a user runs them, so they cannot rot.

The convention (tests/test_shell_blocks.py checks it):
- A fenced block whose info string is `sh`, `bash` or `shell` is run, line after line, by
  `bash -e -o pipefail`: every line must succeed (a command shown failing on purpose belongs
  in a `console` block).
- `console`, `text` and any other fence are shown, never run: use `text` for a synopsis
  (`migrator backup --json-dir J --db D [--sql]`) and `console` for a session with output.
- A shell block that must not run carries `<!-- not run: REASON -->` on the line right before
  its fence (HTML comments render as nothing on GitHub and in MkDocs), e.g. `make` targets,
  which build their own .venv, or a command that needs a server.

Each block runs in a fresh copy of the repository (so `pip install .`, `scripts/...` and
relative paths such as `store` or `app.db` work and touch nothing outside it), with the
interpreter's bin directory first on PATH and no MIGRATOR_* variable set.

Two ways to run a block:
- `verbatim`: every line as written, `pip install` included. `make plain` does this for
  README's "Quick start" in a clean virtual environment (no extras): the install a user makes.
- otherwise the `pip install` lines are skipped (the package is installed already: the test
  suite runs in the development environment, whose shared venv must not be reinstalled) and
  the copy's code is put first on PYTHONPATH.

Standard library only: `make plain` runs it in a venv that holds nothing but the toolkit.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RUN_FENCES = frozenset({"sh", "bash", "shell"})
NOT_RUN = re.compile(r"<!--\s*not run:\s*(?P<reason>.+?)\s*-->")
_FENCE = re.compile(r"^(?P<ticks>```+)(?P<info>[^`\s]*)\s*$")
_PIP_INSTALL = re.compile(r"^\s*(python3? -m )?pip3? install\b")
#: Never copied into a block's private repository: environments, caches, build output.
_NOT_COPIED = shutil.ignore_patterns(
    ".git",
    ".venv*",
    "site",
    "build",
    "dist",
    "demo",
    "*.egg-info",
    "__pycache__",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    ".hypothesis",
    "data",  # bench/data: generated stores
)


@dataclass(frozen=True)
class Block:
    """One fenced block of a Markdown file."""

    path: Path
    line: int  # of the opening fence, 1-based
    heading: str  # the nearest heading above it
    info: str  # the fence's info string: sh, console, text, ...
    code: str
    not_run: str | None  # the reason given by a `<!-- not run: ... -->` marker

    @property
    def runs(self) -> bool:
        return self.info in RUN_FENCES and self.not_run is None

    @property
    def name(self) -> str:
        where = self.path.relative_to(REPO) if self.path.is_relative_to(REPO) else self.path
        return f"{where}:{self.line}"


def blocks(path: Path) -> list[Block]:
    """Every fenced block of a Markdown file, in order."""
    found: list[Block] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    heading, previous = "", ""
    index = 0
    while index < len(lines):
        line = lines[index]
        fence = _FENCE.match(line)
        if line.startswith("#") and not fence:
            heading = line.lstrip("#").strip()
        if fence is None:
            if line.strip():
                previous = line
            index += 1
            continue
        ticks, start = fence.group("ticks"), index
        index += 1
        body = []
        while index < len(lines) and lines[index].rstrip() != ticks:
            body.append(lines[index])
            index += 1
        marker = NOT_RUN.search(previous)
        found.append(
            Block(
                path=path,
                line=start + 1,
                heading=heading,
                info=fence.group("info").lower(),
                code="\n".join(body) + "\n",
                not_run=marker.group("reason") if marker else None,
            )
        )
        previous = ""
        index += 1
    return found


def documented(repo: Path = REPO) -> list[Block]:
    """The blocks of README.md and of every page under docs/."""
    pages = [repo / "README.md", *sorted((repo / "docs").rglob("*.md"))]
    return [block for page in pages if page.exists() for block in blocks(page)]


def run(
    block: Block,
    workdir: Path,
    *,
    verbatim: bool = False,
    timeout: float = 900,
) -> subprocess.CompletedProcess[str]:
    """Run a shell block in a private copy of the repository under `workdir`."""
    copy = workdir / "repo"
    shutil.copytree(REPO, copy, ignore=_NOT_COPIED, symlinks=True)
    code = block.code
    if not verbatim:
        code = "\n".join(
            f": skipped, already installed: {line}" if _PIP_INSTALL.match(line) else line
            for line in code.splitlines()
        )
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIGRATOR_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.pop("PYTHONPATH", None)
    if not verbatim:
        env["PYTHONPATH"] = str(copy)
    return subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", code],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def main(argv: list[str] | None = None) -> int:
    """`python tests/shell_blocks.py PAGE HEADING`: run the page's shell blocks under HEADING
    verbatim with this interpreter's environment (how `make plain` runs the quick start)."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("page", type=Path)
    parser.add_argument("heading")
    args = parser.parse_args(argv)
    chosen = [b for b in blocks(args.page.resolve()) if b.heading == args.heading and b.runs]
    if not chosen:
        print(f"no shell block to run under {args.heading!r} in {args.page}", file=sys.stderr)
        return 2
    for block in chosen:
        print(f"running {block.name} verbatim with {sys.executable}", flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            result = run(block, Path(tmp), verbatim=True)
        sys.stdout.write(result.stdout)
        sys.stderr.write(result.stderr)
        if result.returncode != 0:
            print(f"{block.name}: exit {result.returncode}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
