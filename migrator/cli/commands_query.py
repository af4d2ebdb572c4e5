"""`migrator query`: ad-hoc `find` on the store the current phase reads."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Annotated

import typer

from migrator.cli.app import app
from migrator.cli.options import Db, JsonDir, ListingFormat, SchemaRef

if TYPE_CHECKING:
    from migrator.schemas.declaration import Schema


class Returning(enum.StrEnum):
    summaries = "summaries"
    documents = "documents"
    ids = "ids"


@app.command("query")
def query_command(
    json_dir: JsonDir,
    db: Db,
    schema: SchemaRef = "sessions",
    where: Annotated[
        list[str] | None,
        typer.Option(
            "--where",
            "-w",
            metavar="KEY OP VALUE",
            help="A criterion on a root field (repeatable, all must hold): status=failed, "
            "'created_at>=2025-01-01', model!=x, type__in=debate,ensemble, task__prefix=Fix, "
            "model__null=true, model__absent=true.",
        ),
    ] = None,
    has: Annotated[
        list[str] | None,
        typer.Option(
            "--has",
            metavar="LIST.KEY OP VALUE",
            help="An item of a child list must meet it (repeatable; criteria on one list hold "
            "for the same item): instances.status=failed.",
        ),
    ] = None,
    order: Annotated[
        list[str] | None,
        typer.Option("--order", metavar="[-]KEY", help="Sort key, '-' for descending (ties: id)."),
    ] = None,
    partition: Annotated[
        str | None, typer.Option("--partition", metavar="NAME", help="Only this partition.")
    ] = None,
    limit: Annotated[int, typer.Option(min=0, metavar="N", help="At most N answers.")] = 20,
    offset: Annotated[int, typer.Option(min=0, metavar="N", help="Skip N answers.")] = 0,
    after: Annotated[
        str | None,
        typer.Option("--after", metavar="CURSOR", help="Continue after a previous page."),
    ] = None,
    returning: Annotated[
        Returning, typer.Option("--returning", help="summaries, documents or ids.")
    ] = Returning.summaries,
    field: Annotated[
        list[str] | None,
        typer.Option("--field", metavar="KEY", help="A table column (repeatable)."),
    ] = None,
    output_format: Annotated[
        ListingFormat, typer.Option("--format", help="table, json (one object) or jsonl.")
    ] = ListingFormat.table,
) -> None:
    """Find documents: reads whichever store the current phase reads (JSON files in json-only
    and dual-write, SQL through its indexes after), with the same answers in every phase.

    A next page is announced on stderr as `--after CURSOR`. Exit 0, or 2 on a usage error
    (an unknown field, a value of the wrong type)."""
    from migrator.api import find
    from migrator.query_args import parse_criteria
    from migrator.query_report import render_page
    from migrator.schemas.registry import resolve

    resolved = resolve(schema)
    criteria, children = parse_criteria(resolved, where or [], has or [])
    page = find(
        json_dir,
        db,
        resolved,
        where=criteria,
        has=children,
        partition=partition,
        order=order or [],
        limit=limit,
        offset=offset,
        after=after,
        returning=returning.value,
    )
    columns = field or _columns(resolved, [*criteria], order or [], returning)
    typer.echo(render_page(page, output_format.value, columns), nl=False)
    if page.cursor is not None:
        typer.echo(f"more: --after {page.cursor}", err=True)


def _columns(
    schema: Schema, criteria: list[str], order: list[str], returning: Returning
) -> list[str]:
    """The table's columns when --field names none: the id, then the fields the query names."""
    from migrator.query_report import default_columns

    named = [name.partition("__")[0] for name in criteria] + [o.lstrip("-") for o in order]
    fields = [f.key for f in schema.root_mapping.fields if f.kind != "json"]
    return default_columns(schema.id_key, named, fields, returning.value)
