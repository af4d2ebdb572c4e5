"""`migrator init`: create the database schema."""

from __future__ import annotations

import typer

from migrator.cli.app import app
from migrator.cli.options import Db, SchemaRef


@app.command()
def init(db: Db, schema: SchemaRef = "sessions") -> None:
    """Create the database tables for a schema. Safe to run twice."""
    from migrator.run_init import init_database

    done = init_database(db, schema)
    what = "created" if done.created else "already present"
    typer.echo(f"schema {done.schema!r} v{done.version}: tables {what} in {done.location}")
