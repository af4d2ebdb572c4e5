"""`migrator init`: create the database schema."""

from __future__ import annotations

import typer

from migrator.cli.app import app
from migrator.cli.options import Db, SchemaRef


@app.command()
def init(db: Db, schema: SchemaRef = "sessions") -> None:
    """Create the database tables for a schema. Safe to run twice."""
    from migrator.adapters.sql_store import SqlStore
    from migrator.schemas.registry import resolve

    store = SqlStore(db, resolve(schema))
    try:
        created = store.init_schema()
    finally:
        store.close()
    what = "created" if created else "already present"
    typer.echo(
        f"schema {store.schema.name!r} v{store.schema.version}: tables {what} in {store.location}"
    )
