"""Shell completion, as docs/ci.md documents it: Typer's completion (what
`migrator --install-completion` installs) completes commands and options."""

from __future__ import annotations

import os
import subprocess
import sys


def complete(words: str) -> list[str]:
    """What bash completion offers for the command line `words` (the last word is completed)."""
    env = os.environ | {
        "_MIGRATOR_COMPLETE": "complete_bash",
        "COMP_WORDS": words,
        "COMP_CWORD": str(len(words.split()) - 1),
    }
    done = subprocess.run(
        [sys.executable, "-m", "migrator"], env=env, capture_output=True, text=True, timeout=120
    )
    return done.stdout.split()


def test_completion_offers_commands_and_options() -> None:
    """`migrator ch<TAB>` is check; `migrator validate --re<TAB>` offers the recheck flags."""
    assert complete("migrator ch") == ["check"]
    assert complete("migrator validate --re") == ["--recheck", "--recheck-delay"]
