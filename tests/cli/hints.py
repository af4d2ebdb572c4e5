"""Run the commands a printed hint names, as a user pasting them would (issue 16, point 4).

A hint is one or more `migrator ...` commands joined by ", ", ", then " or "; ", possibly
inside running text ("(run: ...)", "next: ... until it says READY"). `commands_in` finds each
command; `run_hint` runs it through the shell's word splitting (`shlex`), in a fresh process.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

#: A command starts at `migrator ` and runs to the next separator, closing paren or the end.
_COMMAND = re.compile(r"migrator (?:[^,;()`]|'[^']*')+")


def commands_in(text: str) -> list[str]:
    """Every `migrator ...` command in a hint's text, in order, without the prose after it."""
    found = []
    for match in _COMMAND.finditer(text):
        words = shlex.split(match.group(0))
        # Running text after the command ("... until it says READY") is not options.
        while words and not (words[-1].startswith("-") or _is_value(words)):
            words.pop()
        found.append(shlex.join(words))
    return found


def _is_value(words: list[str]) -> bool:
    """The last word is an option's value, a verb of the command, or a positional phase."""
    if len(words) < 2:
        return True
    return words[-2].startswith("--") or words[-2] in {"migrator", "phase", "set"}


def run(
    args: list[str], cwd: Path, *, importable: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """`migrator ARGS` in a fresh process, in `cwd`, with no MIGRATOR_* variable set (and
    `importable` on the path before the repository, as a user's schema module would be)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIGRATOR_")}
    paths = [] if importable is None else [str(importable)]
    env["PYTHONPATH"] = os.pathsep.join([*paths, str(REPO)])
    return subprocess.run(
        [sys.executable, "-m", "migrator", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def run_hint(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    words = shlex.split(command)
    assert words[0] == "migrator", command
    return run(words[1:], cwd)
