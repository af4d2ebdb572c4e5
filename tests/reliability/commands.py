"""Run several `migrator` commands in one process, one after the other (a script, not
collected): the hostile-input tests start one interpreter per case instead of one per command.

    python commands.py import --json-dir J --db D ::: validate --json-dir J --db D

Each command goes through the CLI's own entry point (`migrator.cli.main`) with its stdout and
stderr captured apart; at the end one JSON list of {"args", "code", "stdout", "stderr"} is
printed. An exception escaping a command is printed as the traceback the user would see.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from migrator.cli import main as migrator_main

SEPARATOR = ":::"


def main() -> None:
    commands: list[list[str]] = [[]]
    for arg in sys.argv[1:]:
        if arg == SEPARATOR:
            commands.append([])
        else:
            commands[-1].append(arg)
    real_stdout = sys.stdout
    results = []
    for args in commands:
        print(f"running migrator {args[0]}", file=sys.__stderr__, flush=True)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = migrator_main(args)
            except BaseException:  # what would reach the user as a traceback
                traceback.print_exc()
                code = 1
        results.append(
            {"args": args, "code": code, "stdout": out.getvalue(), "stderr": err.getvalue()}
        )
    print(json.dumps(results), file=real_stdout)


if __name__ == "__main__":
    main()
