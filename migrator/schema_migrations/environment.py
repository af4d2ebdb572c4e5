"""Alembic's configuration and environment, built from a `Schema` instead of an alembic.ini.

The environment (`alembic_env/env.py` and the revision template) lives inside the package; a
project's migrations folder holds only its revision scripts (`<folder>/versions`). A schema may
ship revisions of its own (`Schema.migrations`); a project's revisions follow them. The schema
declaration is the single source of truth: autogenerate compares its tables, and nothing else
in the database, with what the database holds.
"""

from __future__ import annotations

import argparse
import os
import pprint
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alembic.config import Config
from sqlalchemy import Connection, MetaData

from migrator.errors import SchemaMigrationError
from migrator.schemas.codec import usual_order
from migrator.schemas.declaration import Schema

ENV_DIR = Path(__file__).with_name("alembic_env")
VERSIONS = "versions"


@dataclass
class Setup:
    """What one command hands its environment: the schema, the open connection, and whether
    the revision being written may get data moves (autogenerate)."""

    schema: Schema
    connection: Connection
    dialect: str
    process_revision: Any = None
    extra_template_args: dict[str, Any] = field(default_factory=dict)


def versions_dir(folder: Path) -> Path:
    """Where a project's own revision scripts live."""
    return folder / VERSIONS


def version_locations(schema: Schema, folder: Path) -> list[Path]:
    """The schema's shipped revisions (if any), then the project's."""
    shipped = [schema.migrations] if schema.migrations is not None else []
    return [*shipped, versions_dir(folder)]


def require_folder(folder: Path) -> None:
    """A `SchemaMigrationError` unless `folder` is an initialized migrations folder."""
    if not versions_dir(folder).is_dir():
        raise SchemaMigrationError(
            f"migrations folder {folder} does not exist (no {VERSIONS}/ in it): "
            "run `migrator db init` (or set folder=...)",
            parameters=["folder=..."],
        )


def alembic_config(schema: Schema, folder: Path, setup: Setup | None = None) -> Config:
    """An Alembic `Config` for `schema` and the project's migrations `folder`."""
    # Quiet: Alembic's own progress lines would mix with the command's output.
    config = Config(cmd_opts=argparse.Namespace(quiet=True))
    config.set_main_option("script_location", _escaped(ENV_DIR))
    config.set_main_option("path_separator", "os")
    locations = os.pathsep.join(str(p) for p in version_locations(schema, folder))
    config.set_main_option("version_locations", _escaped(locations))
    # The environment runs for every revision: it renders the schema version into the script.
    config.set_main_option("revision_environment", "true")
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    if setup is not None:
        config.attributes["migrator"] = setup
    return config


def _escaped(value: object) -> str:
    return str(value).replace("%", "%%")


def target_metadata(schema: Schema) -> MetaData:
    """The schema's tables alone (SQLModel's shared metadata holds every declared table)."""
    metadata = MetaData()
    for table in schema.tables:
        table.to_metadata(metadata)
    return metadata


def layouts(schema: Schema) -> dict[str, list[str]]:
    """Each document table's usual key order: the root's, then each child table's fields."""
    found = {schema.root_table.name: list(usual_order(schema))}
    for mapping in schema.child_mappings:
        found[mapping.name] = [f.key for f in mapping.fields]
    return found


def run_environment() -> None:
    """Alembic's env.py body: configure the context on the command's connection and run."""
    from alembic import context

    from migrator.adapters.fulltext import owned as fulltext_owned

    setup: Setup | None = context.config.attributes.get("migrator")
    if setup is None:
        raise SchemaMigrationError("the migrator environment runs through `migrator db` only")
    schema = setup.schema
    metadata = target_metadata(schema)

    def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
        # Tables the declaration does not name (the toolkit's own, full-text indexes, the
        # version table, an application's others) are not the schema's: never compared.
        if fulltext_owned(schema, name, type_, parent_names):
            return False
        return type_ != "table" or name in metadata.tables

    context.configure(
        connection=setup.connection,
        target_metadata=metadata,
        include_name=include_name,
        render_as_batch=setup.dialect == "sqlite",
        # One transaction, begun by the command: SQLite too (its DDL is transactional).
        transactional_ddl=True,
        compare_type=True,
        process_revision_directives=setup.process_revision,
        template_args={
            "schema_version": schema.version,
            "layout": pprint.pformat(layouts(schema), width=96, sort_dicts=False),
            **setup.extra_template_args,
        },
    )
    with context.begin_transaction():
        context.run_migrations()
