"""`migrator phase show|set|configure`, `migrator repair`, `migrator status`: the phased
migration's faces over `migrator.phases`, `migrator.journal_replay` and `migrator.status_report`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import typer

from migrator.cli.app import app
from migrator.cli.option_groups import App, OptionGroup, arguments
from migrator.cli.options import (
    FormatOption,
    JsonDir,
    MaybeDb,
    NoSnapshot,
    OutputFormat,
    ResultArgs,
    StoreArgs,
    ignore_path_option,
)
from migrator.cli.output import warn
from migrator.cli.text import moment
from migrator.schemas.jsontext import dumps_pretty

if TYPE_CHECKING:
    from migrator.adapters.phase_state import PhaseRecord
    from migrator.journal_replay import RepairReport
    from migrator.phase_recover import Recovery
    from migrator.phases import PhaseChange
    from migrator.status_report import StatusReport

#: The phases in order, for --help without importing the phase machinery at start-up
#: (tests/cli keeps it equal to migrator.adapters.phase_state.Phase).
PHASE_NAMES = ("json-only", "dual-write", "sqlite-primary", "sqlite-only")

phase_app = App(
    help="Show or change the migration phase: json-only -> dual-write -> sqlite-primary -> "
    "sqlite-only.",
    no_args_is_help=True,
)
app.add_typer(phase_app, name="phase")


def show(result: Any, output_format: OutputFormat, lines: Callable[[Any], list[str]]) -> None:
    """A result as its JSON object (`to_dict`), or as its lines of text (a warning on
    stderr)."""
    if output_format is OutputFormat.json:
        typer.echo(dumps_pretty(result.to_dict()).decode())
        return
    for line in lines(result):
        typer.echo(line, err=line.startswith("warning:"))


# --------------------------------------------------------------------------- phase


@dataclass(frozen=True)
class PhaseFileArgs(OptionGroup):
    """The phase file's store: --json-dir; --db is accepted, like every command's, and
    unused (the phase lives beside the JSON store)."""

    json_dir: JsonDir
    db: MaybeDb = None


@phase_app.command("show")
def phase_show(run: PhaseFileArgs, output_format: FormatOption = OutputFormat.text) -> None:
    """Print the current phase, its settings and its history of moves.

    The phase lives beside the JSON store: --db is accepted, like every command's, and unused."""
    from migrator.phases import read_phase

    show(read_phase(run.json_dir), output_format, _phase_lines)


PhaseName = Annotated[
    str, typer.Argument(metavar="PHASE", help=f"One of: {', '.join(PHASE_NAMES)}.")
]
ForceMove = Annotated[
    bool, typer.Option("--force", help="Move even though a guard fails (recorded as a warning).")
]


@phase_app.command("set")
def phase_set(
    phase: PhaseName,
    run: StoreArgs,
    force: ForceMove = False,
    output_format: FormatOption = OutputFormat.text,
    no_snapshot: NoSnapshot = False,
) -> None:
    """Move to PHASE: forward one guarded step at a time, or back to any earlier phase.

    Moving back first brings the JSON store up to date from SQL."""
    from migrator.run_phase import set_phase

    change = set_phase(
        **arguments(run), target=phase, force=force, snapshot=not no_snapshot, notice=warn
    )
    show(change, output_format, _change_lines)


RecoverPhase = Annotated[
    str | None,
    typer.Option(
        "--phase",
        help="The phase to record when the history, journal and stores cannot tell "
        "(refused if they say otherwise, unless --force).",
    ),
]
ForceRecover = Annotated[
    bool, typer.Option("--force", help="Record --phase even against the evidence.")
]


@dataclass(frozen=True)
class RecoverArgs(StoreArgs):
    """The stores, and the phase to record when the evidence cannot tell: `recover_phase`'s
    parameters."""

    phase: RecoverPhase = None
    force: ForceRecover = False


@phase_app.command("recover")
def phase_recover(run: RecoverArgs, output_format: FormatOption = OutputFormat.text) -> None:
    """Work out the phase when its file is missing or damaged, and record it.

    From the damaged file, the history and the journal (the newest wins), checked against the
    stores; the damaged file is kept beside the new one."""
    from migrator.run_phase import recover_phase

    recovery = recover_phase(**arguments(run))
    show(recovery, output_format, _recovery_lines)


def _recovery_lines(recovery: Recovery) -> list[str]:
    if not recovery.recorded:
        return [f"phase: {recovery.phase} ({recovery.note})"]
    lines = [f"phase: recovered {recovery.phase}, from {recovery.note}"]
    lines += [f"  {e.time}  {e.phase}  ({e.source})" for e in recovery.evidence[-5:]]
    return lines


ShadowRate = Annotated[
    float | None,
    typer.Option(
        "--shadow-rate",
        min=0.0,
        max=1.0,
        metavar="R",
        help="Share of reads in dual-write also read from SQL and compared (0 to 1).",
    ),
]
ShadowIgnorePath = Annotated[
    list[str] | None,
    ignore_path_option(
        "A DeepDiff path shadow reads may find different (repeatable; replaces the recorded list)."
    ),
]
ClearIgnorePaths = Annotated[
    bool, typer.Option("--clear-ignore-paths", help="Forget the recorded ignore paths.")
]


@phase_app.command("configure")
def phase_configure(
    run: PhaseFileArgs,
    shadow_rate: ShadowRate = None,
    ignore_path: ShadowIgnorePath = None,
    clear_ignore_paths: ClearIgnorePaths = False,
) -> None:
    """Set the shadow-read sampling rate and the paths allowed to differ.

    The settings live beside the JSON store: --db is accepted, like every command's, and unused."""
    from migrator.phases import configure_shadow

    paths = [] if clear_ignore_paths else ignore_path
    record = configure_shadow(run.json_dir, rate=shadow_rate, ignore_paths=paths)
    typer.echo(f"shadow rate {record.shadow_rate:g}; ignore paths: {_paths(record)}")


def _phase_lines(record: PhaseRecord) -> list[str]:
    lines = [
        f"phase: {record.phase}",
        f"shadow reads: rate {record.shadow_rate:g}; ignore paths: {_paths(record)}",
    ]
    last = record.last_validation
    if last is None:
        lines.append("last validation: none recorded")
    else:
        verdict = "clean" if last.ok else "differences found"
        scope = " (sampled or partial)" if last.sampled else ""
        lines.append(f"last validation: {moment(last.time)}: {verdict}{scope}")
    for move in record.history[-10:]:
        forced = " (forced)" if move.forced else ""
        lines.append(f"  {moment(move.time)}  {move.from_phase} -> {move.to_phase}{forced}")
        if move.warning:
            lines.append(f"    warning: {move.warning}")
    return lines


def _paths(record: PhaseRecord) -> str:
    return ", ".join(record.ignore_paths) or "none"


def _change_lines(change: PhaseChange) -> list[str]:
    if change.from_phase is change.to_phase:
        return [f"phase: {change.to_phase} ({'; '.join(change.notes)})"]
    lines = [f"phase: {change.from_phase} -> {change.to_phase}"]
    if change.warning:
        lines.append(f"warning: {change.warning}")
    lines += [f"  {note}" for note in change.notes]
    if change.repair is not None and change.repair.actions:
        lines.append(f"  repaired: {_counts(change.repair.counts)}")
    if change.archive is not None:
        archive = change.archive
        lines.append(
            f"  archived {len(archive.files)} JSON file(s) into {archive.archive} "
            f"(removed {len(archive.removed)})"
        )
    return lines


# --------------------------------------------------------------------------- repair


DryRepair = Annotated[
    bool, typer.Option("--dry-run", help="Show what would be repaired; change nothing.")
]


@dataclass(frozen=True)
class RepairArgs(StoreArgs):
    """The stores, and whether to only show the plan: `repair`'s parameters."""

    dry_run: DryRepair = False


@app.command("repair")
def repair_command(run: RepairArgs, result: ResultArgs, no_snapshot: NoSnapshot = False) -> None:
    """Replay the writes that reached only one store, so both agree again.

    The newest side's current version wins. Exit 1 when some could not be repaired."""
    from migrator.cli.report import write_summary
    from migrator.run_phase import repair

    report = repair(**arguments(run), snapshot=not no_snapshot)
    if result.summary_file is not None:
        write_summary(report.to_dict(), result.summary_file)
    show(report, result.output_format, _repair_lines)
    if not report.ok:
        raise typer.Exit(1)


def _repair_lines(report: RepairReport) -> list[str]:
    what = "would repair" if report.dry_run else "repaired"
    if not report.actions:
        lines = ["nothing to repair: no pending writes in the journal"]
    else:
        lines = [f"{what} {len(report.actions)} document(s): {_counts(report.counts)}"]
    for action in report.actions:
        note = f"  ({action.note})" if action.note else ""
        lines.append(
            f"  {action.action:<7} {action.doc_id} [{action.partition}] "
            f"{action.source} -> {action.target}{note}"
        )
    if report.swept:
        removed = "would remove" if report.dry_run else "removed"
        lines.append(
            f"{removed} {len(report.swept)} staged file(s) a killed writer left (never read): "
            + ", ".join(report.swept)
        )
    return lines


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items() if v) or "nothing"


# --------------------------------------------------------------------------- status


@app.command("status")
def status_command(run: StoreArgs, output_format: FormatOption = OutputFormat.text) -> None:
    """Where the migration stands: phase, documents, repairs, failures, shadow reads.

    Also fallback reads, and the last import and validation. Exit 1 when the database is
    damaged (a corrupt file)."""
    from migrator.status_report import status

    report = status(**arguments(run))
    show(report, output_format, _status_lines)
    if report.problems:
        raise typer.Exit(1)


def _status_lines(report: StatusReport) -> list[str]:
    data = report.to_dict()
    shadow = data["shadow"]
    docs = report.documents

    def count(side: str) -> str:
        value = docs.get(side)
        return f"unavailable ({report.errors[side]})" if value is None else str(value)

    since = f" since {moment(report.last_move.time)}" if report.last_move else ""
    lines = [
        f"phase:            {report.phase}{since}",
        f"documents:        JSON {count('json')}, SQL {count('sql')}",
        f"pending repairs:  {report.pending_repairs}"
        + (f" ({', '.join(report.pending_ids)})" if report.pending_ids else ""),
        f"write failures:   {report.write_failures}"
        + (f" (last {moment(report.last_write_failure)})" if report.last_write_failure else ""),
        f"shadow reads:     rate {report.shadow_rate:g}: {shadow['compared']} compared, "
        f"{shadow['matched']} matched, {shadow['ignored']} ignored, "
        f"{shadow['mismatched']} mismatched, {shadow['errors']} errors",
        f"fallback reads:   {data['fallbacks']}",
        f"last import:      {moment(report.last_import) if report.last_import else 'none recorded'}"
        + (f" ({report.imported_partitions} partitions)" if report.imported_partitions else ""),
    ]
    last = report.last_validation
    verdict = "none recorded"
    if last is not None:
        verdict = f"{moment(last.time)}: {'clean' if last.ok else 'differences found'}"
    lines.append(f"last validation:  {verdict}")
    for path, n in report.mismatch_paths:
        lines.append(f"  mismatching path {path}: {n}")
    lines += [f"note: {note}" for note in report.notes]
    lines += [f"problem: {problem}" for problem in report.problems]
    return lines
