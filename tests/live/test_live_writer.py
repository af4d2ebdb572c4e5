"""Validating a live system: a writer process keeps changing documents through the dual-write
store (each write sets `updated_at` to now) while validations run. With `--min-age` or
`--recheck` they report no false difference, yet still report a real one; once the writer is
quiet, the stores validate clean."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from migrator.adapters.phase_state import Phase
from migrator.schemas.codec import canonical_bytes
from tests.live.conftest import P1, P2, P3, Live, Writer, sid

#: The documents the writer keeps rewriting: two of each partition.
TOUCHED = [(p, sid(w, n)) for w, p in enumerate((P1, P2, P3)) for n in (0, 1)]
#: A document the writer never touches, changed in SQL long ago: a real difference.
LOST = sid(1, 7)
ROUNDS = 3


def plant_lost_update(live: Live) -> dict[str, Any]:
    """Change a document the writer does not touch, in SQL only, keeping its old version key."""
    original = live.doc(LOST)
    live.put_sql(P2, original | {"task": "an update JSON never got"})
    return original


def test_min_age_reports_no_false_difference_while_a_writer_runs(
    live: Live, start_writer: Callable[[list[tuple[str, str]]], Writer]
) -> None:
    """--min-age 60: the writer's documents are in flight, the rest compared, the real one found."""
    live.set_phase(Phase.DUAL_WRITE)
    original = plant_lost_update(live)
    writer = start_writer(TOUCHED)
    for _ in range(ROUNDS):
        report = live.validate(min_age=60)
        assert [m.id for m in report.mismatched] == [LOST], report.to_dict()
        assert report.counts["missing_in_sqlite"] == report.counts["missing_in_json"] == 0
        assert report.counts["in_flight"] == len(TOUCHED)
        assert report.counts["matched"] == 36 - len(TOUCHED) - 1
    cli = live.run("validate", "--min-age", "60", "--format", "json")
    assert cli.returncode == 1, cli.stderr
    assert json.loads(cli.stdout)["counts"]["in_flight"] == len(TOUCHED)
    assert writer.stop() >= len(TOUCHED)
    assert_quiet_stores_agree(live, original)


def test_recheck_reports_no_false_difference_while_a_writer_runs(
    live: Live, start_writer: Callable[[list[tuple[str, str]]], Writer]
) -> None:
    """--recheck: whatever the first read caught half written settles; the real one stays."""
    live.set_phase(Phase.DUAL_WRITE)
    original = plant_lost_update(live)
    writer = start_writer(TOUCHED)
    for _ in range(ROUNDS):
        report = live.validate(recheck=True, recheck_delay=0.2)
        assert [m.id for m in report.mismatched] == [LOST], report.to_dict()
        assert report.counts["missing_in_sqlite"] == report.counts["missing_in_json"] == 0
        assert report.counts["matched"] == 35
    cli = live.run("validate", "--recheck", "--recheck-delay", "0.2", "--format", "json")
    assert cli.returncode == 1, cli.stderr
    assert [m["id"] for m in json.loads(cli.stdout)["mismatched"]] == [LOST]
    assert writer.stop() >= len(TOUCHED)
    assert_quiet_stores_agree(live, original)


def assert_quiet_stores_agree(live: Live, original: dict[str, Any]) -> None:
    """Once the writer stopped: its documents match, and with the lost update put right, all do."""
    report = live.validate()
    assert [m.id for m in report.mismatched] == [LOST], report.to_dict()
    for partition, doc_id in TOUCHED:
        assert live.doc(doc_id)["task"].startswith("rewritten"), (partition, doc_id)
    live.put_sql(P2, original)
    clean = live.validate()
    assert clean.ok, clean.to_dict()
    assert clean.counts["matched"] == 36
    assert canonical_bytes(live.doc(LOST)) == canonical_bytes(original)
