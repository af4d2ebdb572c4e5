"""`migrator search` and `migrator reindex`: full-text search, and the rebuild of its index."""

from __future__ import annotations

from typing import Annotated

import typer

from migrator.cli.app import app
from migrator.cli.options import Db, JsonDir, ListingFormat, MaybeDb, SchemaRef

_WIDTH = 80


@app.command("search")
def search_command(
    text: Annotated[
        str,
        typer.Argument(
            metavar="TEXT",
            help='Words (all must match), "quoted phrases", prefix* (see docs/search.md).',
            show_default=False,
        ),
    ],
    json_dir: JsonDir,
    db: MaybeDb = None,
    schema: SchemaRef = "sessions",
    limit: Annotated[int, typer.Option(min=1, metavar="N", help="At most N documents.")] = 20,
    output_format: Annotated[
        ListingFormat, typer.Option("--format", help="table, json or jsonl (one hit a line).")
    ] = ListingFormat.table,
) -> None:
    """Full-text search of the documents' searchable fields (sessions: task, chat messages,
    instance output), best first, from whichever store the current phase reads: a scan of
    the JSON files, or the database's index (--db needed once SQL is primary).

    Example: migrator search 'timeout "redis cluster" conn*' --json-dir data --db app.db

    Exit 0 (also when nothing matches), 2 on a usage or fatal error."""
    from migrator.cli.report import json_text
    from migrator.schemas.jsontext import dumps_compact
    from migrator.search import search

    result = search(json_dir, db, text, schema, limit=limit)
    if output_format is ListingFormat.json:
        typer.echo(json_text(result.to_dict()), nl=False)
        return
    if output_format is ListingFormat.jsonl:
        for hit in result.hits:
            typer.echo(dumps_compact(hit.to_dict()))
        return
    for rank, hit in enumerate(result.hits, start=1):
        head = f"{rank:>3}. {hit.doc_id}  {hit.partition}  {hit.field}  {hit.score:.4g}"
        typer.echo(_cut(head))
        typer.echo(_cut("     " + " ".join(hit.snippet.split())))
    found = len(result.hits)
    summary = f"{found} document(s)" if found else "no match"
    typer.echo(f"{summary} (phase {result.phase}, from {result.source})")


@app.command("reindex")
def reindex_command(db: Db, schema: SchemaRef = "sessions") -> None:
    """Build the database's full-text index again from its rows, in one transaction: the fix
    `migrator doctor` names when the index disagrees with the rows. Safe while the
    application runs (its writes wait for the rebuild)."""
    from migrator.search import reindex

    result = reindex(db, schema)
    counts = ", ".join(f"{field} {n}" for field, n in result.indexed.items())
    typer.echo(f"full-text index rebuilt in {result.location}: {counts}")


def _cut(line: str) -> str:
    return line if len(line) <= _WIDTH else line[: _WIDTH - 1] + "…"
