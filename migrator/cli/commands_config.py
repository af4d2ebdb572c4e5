"""`migrator config`: the effective settings and where each came from."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from migrator.cli.app import app
from migrator.cli.defaults import source_of
from migrator.cli.options import FormatOption, MaybeDb, MaybeJsonDir, OutputFormat, SchemaRef
from migrator.config import ConfigFile


@app.command("config")
def show_config(
    ctx: typer.Context,
    json_dir: MaybeJsonDir = None,
    db: MaybeDb = None,
    schema: SchemaRef = "sessions",
    output_format: FormatOption = OutputFormat.text,
) -> None:
    """Print the effective settings (flag > environment > config file > default)."""
    from rich.console import Console

    from migrator.cli.tables import settings_table

    project: ConfigFile = ctx.obj["config"]
    settings = _settings(ctx, project, json_dir, db, schema)
    where = str(project.path) if project.path else None
    if output_format is OutputFormat.json:
        payload = {
            "config_file": where,
            "settings": {k: {"value": v, "source": s} for k, (v, s) in settings.items()},
        }
        typer.echo(json.dumps(payload, indent=2))
        return
    Console(highlight=False).print(settings_table(settings, where))


def _settings(
    ctx: typer.Context, project: ConfigFile, json_dir: Path | None, db: str | None, schema: str
) -> dict[str, tuple[Any, str]]:
    """Each setting's value and where it came from; a database URL's password never shown."""
    from migrator.adapters.dialects import redacted

    settings: dict[str, tuple[Any, str]] = {
        "json_dir": (None if json_dir is None else str(json_dir), source_of(ctx, "json_dir")),
        "db": (db, source_of(ctx, "db")),
        "schema": (schema, source_of(ctx, "schema")),
    }
    for key, value in sorted(project.shared.items()):
        settings.setdefault(key, (value, "config file"))
    for command, values in sorted(project.commands.items()):
        for key, value in sorted(values.items()):
            settings[f"{command}.{key}"] = (value, "config file")
    return {
        k: (redacted(v) if k.split(".")[-1] == "db" and isinstance(v, str) else v, s)
        for k, (v, s) in settings.items()
    }
