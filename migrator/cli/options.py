"""The options every command shares, each also read from a MIGRATOR_* environment variable."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

JsonDir = Annotated[
    Path,
    typer.Option(
        "--json-dir",
        envvar="MIGRATOR_JSON_DIR",
        help="The legacy JSON store: a directory of <partition>.json files.",
        show_default=False,
    ),
]
Db = Annotated[
    str,
    typer.Option(
        "--db",
        envvar="MIGRATOR_DB",
        help="The SQL database: a SQLite file path or a SQLAlchemy URL "
        "(postgresql+psycopg://user@host/db).",
        show_default=False,
    ),
]
SchemaRef = Annotated[
    str,
    typer.Option(
        "--schema",
        envvar="MIGRATOR_SCHEMA",
        help="A built-in schema name or package.module:attribute naming a Schema.",
    ),
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")]
