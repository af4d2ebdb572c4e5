"""What every part of a dual-write store works on, handed to each part once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from migrator.adapters.journal import Journal
from migrator.adapters.json_store import JsonStore
from migrator.adapters.phase_state import Phase
from migrator.adapters.sql_store import SqlStore


@dataclass(frozen=True)
class StorePair:
    """The JSON store, the SQL store (`sql()` opens it on first use), the current phase
    (`phase()` reads it at each call: another process may just have set it) and the journal."""

    json: JsonStore
    sql: Callable[[], SqlStore]
    phase: Callable[[], Phase]
    journal: Journal
