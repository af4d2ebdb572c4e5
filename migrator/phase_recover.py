"""`phase recover`: work out the phase of stores whose phase file is missing or damaged, from
what the other state files and the stores themselves say, and record it.

Evidence, each with the time it speaks for: the phase the damaged file still names, the phase
each history line left the store in, and the primary of the newest journal entry (JSON primary:
`dual-write`; SQL primary: `sqlite-primary`). The newest wins. The stores then veto what cannot
be: a SQL phase without a database holding the schema's tables; a phase that reads the JSON
files when they were archived and SQL holds the documents. With no evidence, the stores alone
decide only the plain cases (documents in JSON only: `json-only`; the files archived and the
documents in SQL: `sqlite-only`); anything else is refused, asking for `phase=` (`--phase`)
after a look at `migrator status`. The damaged file is kept beside the new one.

The recovered record starts a fresh history with one forced move into the phase, so the
`sqlite-primary` guard asks for a new validation made after the recovery.
"""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from migrator.adapters.dialects import database_url, dialect_for, redacted
from migrator.adapters.fs import read_nofollow
from migrator.adapters.journal import Journal, Side
from migrator.adapters.json_store import JsonStore
from migrator.adapters.phase_state import Phase, PhaseMove, PhaseRecord, PhaseState, timestamp
from migrator.adapters.sql_store import SqlStore
from migrator.adapters.state_dir import HISTORY, StateDir
from migrator.adapters.state_models import HistoryLine
from migrator.errors import MigratorError, PhaseError, PhaseUnknownError
from migrator.schemas.declaration import Schema
from migrator.schemas.registry import resolve

logger = logging.getLogger(__name__)

#: How a caller settles a phase the evidence cannot tell (the CLI shows `--phase`).
_SAY_IT = "recover again with phase=... saying which"


@dataclass(frozen=True)
class Evidence:
    """One thing that says which phase the stores were in, and as of when."""

    time: str
    phase: Phase
    source: str

    def to_dict(self) -> dict[str, Any]:
        return {"time": self.time, "phase": self.phase.value, "source": self.source}


@dataclass(frozen=True)
class StoreFacts:
    """What the stores hold, as far as the phase goes."""

    json_documents: int
    archived: bool
    database: bool
    sql_documents: int | None

    def veto(self, phase: Phase) -> str | None:
        """Why the stores cannot be in `phase`, or None."""
        if phase.writes_sql and not self.database:
            return f"{phase} needs a database with the schema's tables, and there is none"
        if (
            phase is not Phase.SQLITE_ONLY
            and self.archived
            and self.json_documents == 0
            and (self.sql_documents or 0) > 0
        ):
            return f"{phase} reads the JSON files, which were archived (SQL holds the documents)"
        return None

    def plain_phase(self) -> Phase | None:
        """The phase the stores alone make certain, if any."""
        if not self.database or not self.sql_documents:
            return Phase.JSON_ONLY if not self.archived else None
        if self.archived and self.json_documents == 0:
            return Phase.SQLITE_ONLY
        return None


@dataclass(frozen=True)
class Recovery:
    """What `recover_phase` found and did."""

    phase: Phase
    recorded: bool
    evidence: tuple[Evidence, ...]
    facts: StoreFacts | None
    note: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "phase": self.phase.value,
            "recorded": self.recorded,
            "evidence": [e.to_dict() for e in self.evidence],
            "note": self.note,
        }


def recover_phase(
    json_dir: Path | str,
    db: str | Path,
    schema: str | Schema = "sessions",
    *,
    phase: Phase | str | None = None,
    force: bool = False,
) -> Recovery:
    """Record the phase of the stores when it is unknown (see the module docstring). `phase`
    names it when the evidence cannot; `force` records it even against the evidence."""
    schema = resolve(schema)
    root = Path(json_dir)
    wanted = Phase.parse(phase) if isinstance(phase, str) else phase
    state = PhaseState(root, db_hint=redacted(db))
    with state.lock():
        try:
            current = state.read()
        except PhaseUnknownError:
            pass
        else:
            return Recovery(current.phase, False, (), None, "the phase file is fine: nothing to do")
        evidence = gather_evidence(root)
        facts = store_facts(root, db, schema)
        chosen, note = _decide(evidence, facts, wanted, force)
        _keep_damaged(state)
        move = PhaseMove(timestamp(), chosen, chosen, forced=True, warning=f"recovered: {note}")
        state.write(PhaseRecord(phase=chosen, history=(move,)))
    logger.info("phase recovered: %s (%s)", chosen, note)
    return Recovery(chosen, True, tuple(evidence), facts, note)


def _decide(
    evidence: list[Evidence], facts: StoreFacts, wanted: Phase | None, force: bool
) -> tuple[Phase, str]:
    newest = max(evidence, key=lambda e: e.time) if evidence else None
    if wanted is not None:
        veto = facts.veto(wanted)
        # Evidence the stores rule out (the refusal that asked for --phase) cannot refuse it.
        credible = newest is not None and facts.veto(newest.phase) is None
        if newest is not None and credible and newest.phase is not wanted and not force:
            raise PhaseError(
                f"cannot record {wanted}: {newest.source} says {newest.phase} as of "
                f"{newest.time}; pass force=True to record {wanted} anyway",
                parameters=["force=True"],
            )
        if veto is not None and not force:
            raise PhaseError(
                f"cannot record {wanted}: {veto}; pass force=True to record it anyway",
                parameters=["force=True"],
            )
        return wanted, f"{wanted} as given" + (" (forced)" if force else "")
    if newest is not None:
        veto = facts.veto(newest.phase)
        if veto is not None:
            raise PhaseError(
                f"cannot tell the phase: {newest.source} says {newest.phase}, but {veto}; "
                f"check `migrator status`, then {_SAY_IT}",
                parameters=["phase=..."],
            )
        return newest.phase, f"{newest.source} as of {newest.time}"
    plain = facts.plain_phase()
    if plain is None:
        raise PhaseError(
            "cannot tell the phase: no history, journal or readable phase file says it, and "
            f"both stores hold documents (JSON {facts.json_documents}, SQL "
            f"{facts.sql_documents}); check `migrator status`, then {_SAY_IT}",
            parameters=["phase=..."],
        )
    return plain, f"the stores: JSON {facts.json_documents}, SQL {facts.sql_documents} documents"


def gather_evidence(json_dir: Path) -> list[Evidence]:
    """Every phase the state files still name, with its time."""
    state_dir = StateDir(json_dir)
    found: list[Evidence] = []
    salvaged = _salvage(PhaseState(json_dir))
    if salvaged is not None:
        found.append(salvaged)
    with contextlib.suppress(OSError, MigratorError):
        for line in (read_nofollow(state_dir.file(HISTORY)) or b"").splitlines():
            with contextlib.suppress(ValueError):
                run = HistoryLine.model_validate_json(line)
                if run.phase_after in _PHASES:
                    source = f"the history ({run.command})"
                    found.append(
                        Evidence(run.ended_at or run.started_at, Phase(run.phase_after), source)
                    )
    with contextlib.suppress(MigratorError):
        pending = Journal(json_dir).newest_intent()
        if pending is not None:
            phase = Phase.SQLITE_PRIMARY if pending.primary is Side.SQL else Phase.DUAL_WRITE
            found.append(Evidence(pending.time, phase, "the journal's newest write"))
    return found


def store_facts(json_dir: Path, db: str | Path, schema: Schema) -> StoreFacts:
    json_store = JsonStore(json_dir, schema)
    archive = StateDir(json_dir).archive()
    archived = archive.is_dir() and any(archive.glob("*.tar.gz"))
    url = database_url(db)
    database, sql_documents = False, None
    if dialect_for(url).database_exists(url):
        sql = SqlStore(db, schema, create=False)
        try:
            if sql.is_initialized():
                database, sql_documents = True, sql.count()
        finally:
            sql.close()
    return StoreFacts(json_store.count(), archived, database, sql_documents)


def _salvage(state: PhaseState) -> Evidence | None:
    """The phase a damaged file still names, as of its last recorded move (or its mtime)."""
    try:
        value = orjson.loads(read_nofollow(state.path) or b"null")
        info = os.stat(state.path, follow_symlinks=False)
    except (OSError, MigratorError, orjson.JSONDecodeError):
        return None
    if not isinstance(value, dict) or value.get("phase") not in _PHASES:
        return None
    moves = value.get("history")
    time = None
    if isinstance(moves, list) and moves and isinstance(moves[-1], dict):
        time = moves[-1].get("time") if isinstance(moves[-1].get("time"), str) else None
    from datetime import UTC, datetime

    time = time or datetime.fromtimestamp(info.st_mtime, UTC).isoformat(timespec="microseconds")
    return Evidence(time, Phase(value["phase"]), "the damaged phase file")


def _keep_damaged(state: PhaseState) -> None:
    """Keep a damaged phase file beside the new one, for a look later."""
    if os.path.lexists(state.path):
        kept = state.path.with_name(f"{state.path.name}.damaged-{timestamp().replace(':', '')}")
        os.replace(state.path, kept)
        logger.warning("kept the damaged phase file as %s", kept)


_PHASES = frozenset(p.value for p in Phase)
