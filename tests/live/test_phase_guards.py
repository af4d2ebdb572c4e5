"""The phase guards beside a running application: the fresh validation that `phase set
sqlite-only` makes re-reads a difference under the partition's write lock before refusing,
so a write in flight between the two stores does not block the move, and a real difference
still does."""

from __future__ import annotations

import pytest

import migrator.validator
from migrator.adapters.phase_state import Phase
from migrator.phases import check_move
from tests.live.conftest import P1, Live, sid


def _fresh_guard_passes(live: Live) -> bool:
    guards = check_move(live.json_dir, live.db, live.schema, Phase.SQLITE_ONLY)
    return next(g for g in guards if g.name == "fresh validation clean").passed


def test_a_write_in_flight_does_not_block_sqlite_only(
    live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQL (primary) has the new version, JSON gets it while the guard waits: it passes."""
    live.set_phase(Phase.SQLITE_PRIMARY)
    new = live.doc(sid(0, 2)) | {"task": "written while the guard ran"}
    live.put_sql(P1, new)
    monkeypatch.setattr(migrator.validator, "_pause", lambda seconds: live.put_json(P1, new))
    assert _fresh_guard_passes(live)


def test_a_real_difference_still_blocks_sqlite_only(live: Live) -> None:
    live.set_phase(Phase.SQLITE_PRIMARY)
    live.put_sql(P1, live.doc(sid(0, 2)) | {"task": "never reached JSON"})
    assert not _fresh_guard_passes(live)
