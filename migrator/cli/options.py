"""The options every command shares, each also read from a MIGRATOR_* environment variable."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer

from migrator.cli.option_groups import OptionGroup, parameter

_JSON_DIR = typer.Option(
    "--json-dir",
    envvar="MIGRATOR_JSON_DIR",
    help="The legacy JSON store: a directory of <partition>.json files.",
    show_default=False,
)
_DB = typer.Option(
    "--db",
    envvar="MIGRATOR_DB",
    help="The SQL database: a SQLite file path, or a SQLAlchemy URL (for PostgreSQL "
    "its scheme is postgresql+psycopg).",
    show_default=False,
)
JsonDir = Annotated[Path, _JSON_DIR]
Db = Annotated[str, _DB]
#: For commands where the option may be left out (write `x: MaybeDb = None`, not `Db | None`,
#: which would lose the option's settings).
MaybeJsonDir = Annotated[Path | None, _JSON_DIR]
MaybeDb = Annotated[str | None, _DB]
SchemaRef = Annotated[
    str,
    typer.Option(
        "--schema",
        envvar="MIGRATOR_SCHEMA",
        help="A built-in schema name or package.module:attribute naming a Schema.",
    ),
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")]


@dataclass(frozen=True)
class StoreArgs(OptionGroup):
    """--json-dir, --db and --schema: the stores a command works on, by the names the verbs
    give them, so `verb(**arguments(run))` hands them over."""

    json_dir: JsonDir
    db: Db
    schema: SchemaRef = "sessions"


NoSnapshot = Annotated[
    bool,
    typer.Option(
        "--no-snapshot",
        help="Skip the automatic backup taken before this step (for people who know why).",
    ),
]
SummaryFile = Annotated[
    Path | None,
    typer.Option(
        "--summary-file",
        metavar="PATH",
        help="Also write the JSON summary to PATH (atomically), whatever --format prints: "
        "a CI artifact.",
        show_default=False,
    ),
]


class OutputFormat(enum.StrEnum):
    """How a command prints its result: text for people, json for programs (every command
    with a --format of these two uses this one enum)."""

    text = "text"
    json = "json"


class ListingFormat(enum.StrEnum):
    """How `query` and `search` print what they found: a table, one JSON object, or JSON
    Lines (one answer a line)."""

    table = "table"
    json = "json"
    jsonl = "jsonl"


class ReportFormat(enum.StrEnum):
    """How `validate` and `check` print their report."""

    text = "text"
    json = "json"
    junit = "junit"


#: --format of every command printing text or json (one declaration: one help, one spelling).
FormatOption = Annotated[OutputFormat, typer.Option("--format", help="text or json.")]
Format = Annotated[ReportFormat, typer.Option("--format", help="text, json or junit (JUnit XML).")]
Output = Annotated[
    Path | None,
    typer.Option("--output", metavar="PATH", help="Write the report to this file."),
]
MaxDetails = Annotated[
    int | None,
    typer.Option(
        min=0, metavar="N", help="List at most N findings of each kind (counts stay whole)."
    ),
]
MinAge = Annotated[
    float | None,
    typer.Option(
        min=0,
        metavar="SECONDS",
        help="Leave out documents whose version key (sessions: updated_at), on either "
        "side, is newer than this: writes in flight, counted as in_flight.",
    ),
]
Recheck = Annotated[
    bool,
    typer.Option(
        "--recheck",
        help="Re-read each differing document once after a pause; report it only if it "
        "still differs (the others are counted as settled).",
    ),
]
RecheckDelay = Annotated[
    float, typer.Option(min=0, metavar="SECONDS", help="The pause before --recheck re-reads.")
]


def ignore_path_option(help: str) -> Any:
    """The repeatable `--ignore-path REGEX`; `help` says what the paths are for."""
    return typer.Option("--ignore-path", metavar="REGEX", help=help)


def out_dir_option(help: str) -> Any:
    """`--out DIR`, where a command writes; `help` says the default, if any."""
    return typer.Option("--out", metavar="DIR", help=help, show_default=False)


IgnorePaths = Annotated[
    list[str] | None,
    ignore_path_option(
        # Rich markup: "\\\\[" shows as a backslash and a bracket.
        "A DeepDiff path allowed to differ, as a regular expression (repeatable), e.g. "
        "\"root\\\\['updated_at'\\]\" (check's default: those recorded with "
        "`migrator phase configure`)."
    ),
]
Partitions = Annotated[
    list[str] | None,
    typer.Option("--partition", metavar="NAME", help="Only this partition (repeatable)."),
]


@dataclass(frozen=True)
class CompareArgs(StoreArgs):
    """The stores and how to compare them: what `validate` and `check` share (a verb's own
    parameters, by their names)."""

    ignore_path: IgnorePaths = field(default=None, metadata=parameter("ignore_paths"))
    min_age: MinAge = None
    recheck: Recheck = False
    recheck_delay: RecheckDelay = 1.0
    max_details: MaxDetails = None


@dataclass(frozen=True)
class ReportArgs(OptionGroup):
    """Where and how `validate` and `check` show their report."""

    output_format: Format = ReportFormat.text
    output: Output = None
    summary_file: SummaryFile = None
    quiet: Quiet = False


@dataclass(frozen=True)
class ResultArgs(OptionGroup):
    """How `import` and `repair` show what they did: as text or the JSON object, which
    --summary-file also writes."""

    output_format: FormatOption = OutputFormat.text
    summary_file: SummaryFile = None
