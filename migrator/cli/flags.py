"""The one place the command line turns the library's parameter names into its flags.

A library error names the parameters its message mentions as a Python caller spells them
(`MigratorError.parameters`): a bare name leads the message (`batch_size must be at least 1`),
a keyword spelling anywhere (`pass force=True`, `or snapshot=False`, `give json_dir=...`). The
CLI shows each as its flag (`--batch-size`, `--force`, `--no-snapshot`, `--json-dir`), so
neither audience reads the other's spelling. A result's text that names parameters (an
import's `stopped`) goes through `flagged` where the CLI prints it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from migrator.errors import MigratorError

#: Parameters whose flag is not their name with dashes.
_RENAMED = {
    "folder": "--migrations",
    "ignore_paths": "--ignore-path",
    "out_dir": "--out",
    "partitions": "--partition",
    "rate": "--shadow-rate",
    "rejects_path": "--rejects",
    "restore_json": "--json",
}


def flag(parameter: str) -> str:
    """The flag of a parameter as a message spells it: `batch_size` -> `--batch-size`,
    `force=True` -> `--force`, `snapshot=False` -> `--no-snapshot`, `schema=...` (a value to
    give) -> `--schema`."""
    name, _, value = parameter.partition("=")
    dashed = _RENAMED.get(name, "--" + name.replace("_", "-"))
    return "--no-" + dashed.removeprefix("--") if value == "False" else dashed


def with_flags(error: MigratorError, text: str) -> str:
    """`text` (the error's line) with the parameters the error names shown as flags."""
    return flagged(text, error.parameters)


def flagged(text: str, parameters: Iterable[str]) -> str:
    """`text` with the first mention of each of `parameters`, as a whole word, replaced by its
    flag (`max_errors=3` -> `--max-errors=3`)."""
    for parameter in parameters:
        found = re.search(rf"(?<![\w-]){re.escape(parameter)}(?![\w-])", text)
        if found is not None:
            text = text[: found.start()] + flag(parameter) + text[found.end() :]
    return text
