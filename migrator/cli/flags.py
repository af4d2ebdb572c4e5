"""The one place the command line turns the library's parameter names into its flags.

A library error names the parameters its message mentions as a Python caller spells them
(`MigratorError.parameters`): a bare name leads the message (`batch_size must be at least 1`),
a keyword spelling anywhere (`pass force=True`, `or snapshot=False`, `give json_dir=...`). The
CLI shows each as its flag (`--batch-size`, `--force`, `--no-snapshot`, `--json-dir`), so
neither audience reads the other's spelling.
"""

from __future__ import annotations

import re

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
    """`text` (the error's line) with the first mention of each parameter it names, as a
    whole word, replaced by its flag."""
    for parameter in error.parameters:
        found = re.search(rf"(?<![\w-]){re.escape(parameter)}(?![\w-])", text)
        if found is not None:
            text = text[: found.start()] + flag(parameter) + text[found.end() :]
    return text
