"""Fix hints a user can paste: the whole command, with the stores as they were given.

A hint names `--json-dir`, `--db` and (when it is not the default) `--schema` exactly as the
command that printed it received them, each quoted for a POSIX shell, so pasting it acts on the
same stores. A database URL's password is shown as `***`, never printed.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from migrator.adapters.dialects import redacted
from migrator.schemas.declaration import Schema
from migrator.schemas.registry import reference_of

#: The schema every command uses when `--schema` is not given.
DEFAULT_SCHEMA = "sessions"


def command(
    verb: str,
    *args: str,
    json_dir: Path | str | None = None,
    db: Path | str | None = None,
    schema: Schema | str | None = None,
) -> str:
    """`migrator VERB --json-dir J --db D [--schema S] ARGS...`, ready to paste."""
    words = ["migrator", *verb.split()]
    if json_dir is not None:
        words += ["--json-dir", shlex.quote(str(json_dir))]
    if db is not None:
        words += ["--db", shlex.quote(redacted(db))]
    reference = reference_of(schema) if isinstance(schema, Schema) else schema
    if reference is not None and reference != DEFAULT_SCHEMA:
        words += ["--schema", shlex.quote(reference)]
    return " ".join([*words, *args])


@dataclass(frozen=True)
class Stores:
    """The stores a command was given, to name them again in the hints it prints."""

    json_dir: Path | str | None = None
    db: Path | str | None = None
    schema: Schema | str | None = None

    def command(self, verb: str, *args: str) -> str:
        return command(verb, *args, json_dir=self.json_dir, db=self.db, schema=self.schema)
