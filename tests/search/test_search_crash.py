"""The application SIGKILLed mid-write (between the two stores, and around the SQL commit),
then `migrator repair`: the full-text index agrees with the rows and the database answers
every search as the JSON scan does, in `dual-write` and in `sqlite-primary`."""

from __future__ import annotations

from pathlib import Path

import pytest

from migrator.adapters.json_store import JsonStore
from migrator.adapters.phase_state import Phase
from migrator.adapters.sql_store import SqlStore
from migrator.schemas.declaration import Schema
from tests.reliability.harness import KillPoint, run_all
from tests.reliability.test_crash_dual_write import Scenario, _kill_writer, _recover_and_check
from tests.search.helpers import index_problems, ranked

POINTS = ("dual.between_writes:4", "sql.before_commit:5", "sql.after_commit:3")
QUERIES = ("naïve", "end", "v1", '"of d"*', "v*", "1 of")


@pytest.mark.parametrize("phase", [Phase.DUAL_WRITE, Phase.SQLITE_PRIMARY])
def test_killed_writer_then_repair_leaves_the_index_right(
    tmp_path: Path, sessions_schema: Schema, phase: Phase
) -> None:
    """Each kill point: after repair the index agrees with the rows and search answers equal."""
    scenarios = [Scenario(phase, KillPoint(point), seed=11 + n) for n, point in enumerate(POINTS)]
    roots = [tmp_path / f"s{n}" for n in range(len(scenarios))]
    outcomes = run_all(
        [
            (lambda root=root, s=s: _kill_writer(root, s, sessions_schema))
            for root, s in zip(roots, scenarios, strict=True)
        ]
    )
    assert all(o.killed for o in outcomes), [o.stderr[-500:] for o in outcomes]
    for root, scenario, outcome in zip(roots, scenarios, outcomes, strict=True):
        assert _recover_and_check(root, scenario, outcome, sessions_schema) == "", scenario.label
        json_store = JsonStore(root / "json", sessions_schema)
        sql = SqlStore(root / "sessions.db", sessions_schema, create=False)
        try:
            assert index_problems(sql) == [], scenario.label
            found = 0
            for text in QUERIES:
                answer = ranked(sql.search(text, limit=1000))
                assert answer == ranked(json_store.search(text, limit=1000)), (scenario, text)
                found += len(answer)
            assert found, "the queries must find something"
        finally:
            sql.close()
