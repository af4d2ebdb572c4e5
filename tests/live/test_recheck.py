"""`validate --recheck`: each difference is re-read once after a pause, under the partition's
write lock, and reported only if it still differs; the others are counted as settled."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

import migrator.validator
from migrator.adapters.json_store import JsonStore
from migrator.adapters.sql_store import SqlStore
from migrator.schemas.jsontext import dumps_pretty, loads
from migrator.validator import ValidationReport
from tests.live.conftest import P1, P2, P3, Live, sid, stamp


def during_pause(monkeypatch: pytest.MonkeyPatch, action: Callable[[], None]) -> list[float]:
    """Run `action` where the validator pauses before re-reading; the pauses asked for."""
    pauses: list[float] = []

    def pause(seconds: float) -> None:
        pauses.append(seconds)
        action()

    monkeypatch.setattr(migrator.validator, "_pause", pause)
    return pauses


def test_a_half_done_write_settles(live: Live, monkeypatch: pytest.MonkeyPatch) -> None:
    """JSON already has the new version, SQL gets it during the pause: settled, not reported."""
    new = live.doc(sid(0, 2)) | {"task": "second version"}
    live.put_json(P1, new)
    assert [m.id for m in live.validate().mismatched] == [sid(0, 2)]
    pauses = during_pause(monkeypatch, lambda: live.put_sql(P1, new))
    report = live.validate(recheck=True, recheck_delay=0.5)
    assert report.ok, report.to_dict()
    assert pauses == [0.5]
    assert report.counts["settled"] == 1
    assert report.counts["matched"] == 36
    assert report.by_partition[P1]["settled"] == 1


def test_documents_created_and_deleted_meanwhile_settle(
    live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A document new in JSON reaches SQL during the pause, one deleted from SQL leaves JSON."""
    created = live.doc(sid(1, 0)) | {"id": "created-meanwhile"}
    live.put_json(P2, created)
    doomed = sid(2, 4)
    sql = SqlStore(live.db, live.schema)
    try:
        assert sql.delete(doomed)
    finally:
        sql.close()
    first = live.validate()
    assert (first.counts["missing_in_sqlite"], first.counts["missing_in_json"]) == (2, 0)

    def finish_writes() -> None:
        live.put_sql(P2, created)
        live.json().delete(doomed)

    during_pause(monkeypatch, finish_writes)
    report = live.validate(recheck=True, recheck_delay=0)
    assert report.ok, report.to_dict()
    assert report.counts["settled"] == 2
    assert report.counts["matched"] == 36  # 35 fixtures left, and the new one


def test_a_real_difference_is_still_reported(live: Live, monkeypatch: pytest.MonkeyPatch) -> None:
    """What differs after the pause is reported in full; nothing counts as settled."""
    live.put_sql(P3, live.doc(sid(2, 1)) | {"task": "lost update"})
    live.put_sql(P1, live.doc(sid(0, 3)) | {"task": "settles"})
    during_pause(monkeypatch, lambda: live.put_sql(P1, live.doc(sid(0, 3))))
    report = live.validate(recheck=True, recheck_delay=0)
    assert not report.ok
    assert [(m.id, [d.path for d in m.differences]) for m in report.mismatched] == [
        (sid(2, 1), ["root['task']"])
    ]
    assert report.counts["mismatched"] == 1
    assert report.counts["settled"] == 1


def test_no_difference_means_no_pause(live: Live, monkeypatch: pytest.MonkeyPatch) -> None:
    """Agreeing stores are not re-read: recheck costs nothing when there is nothing to recheck."""
    pauses = during_pause(monkeypatch, lambda: None)
    report = live.validate(recheck=True)
    assert report.ok and pauses == []
    assert report.counts["settled"] == 0


def test_an_ignored_difference_is_no_suspect(live: Live, monkeypatch: pytest.MonkeyPatch) -> None:
    """A difference only in ignored paths is matched on the first read, not settled later."""
    live.put_sql(P1, live.doc(sid(0, 5)) | {"updated_at": "2030-01-01T00:00:00Z"})
    pauses = during_pause(monkeypatch, lambda: None)
    report = live.validate(recheck=True, ignore_paths=[r"root\['updated_at'\]"])
    assert report.ok and pauses == []
    assert (report.counts["ignored"], report.counts["settled"]) == (1, 0)


def test_the_recheck_waits_for_a_dual_write_holding_the_lock(
    live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dual write holds the partition lock across both stores: the re-read waits for it to end
    and so never sees it half done."""
    new = live.doc(sid(1, 4)) | {"task": "written by a slow dual write"}
    lock = live.json().lock(P2)
    paused = threading.Event()
    during_pause(monkeypatch, paused.set)
    results: list[ValidationReport] = []
    with lock:  # the writer: JSON first, then (after the validator's first read) SQL
        JsonStore(live.json_dir, live.schema).put(P2, new)  # takes the lock it holds
        validation = threading.Thread(
            target=lambda: results.append(live.validate(recheck=True, recheck_delay=0))
        )
        validation.start()
        assert paused.wait(timeout=120)
        time.sleep(0.2)  # an unlocked re-read would now see JSON and SQL disagree
        live.put_sql(P2, new)
    validation.join(timeout=120)
    (report,) = results
    assert report.ok, report.to_dict()
    assert report.counts["settled"] == 1


def test_recheck_and_min_age_together(live: Live, monkeypatch: pytest.MonkeyPatch) -> None:
    """A suspect whose re-read finds a recent version is in flight, not settled nor reported."""
    changed: dict[str, Any] = live.doc(sid(0, 9)) | {"task": "old write, lost"}
    live.put_sql(P1, changed)
    during_pause(monkeypatch, lambda: live.put_sql(P1, changed | {"updated_at": stamp()}))
    report = live.validate(recheck=True, recheck_delay=0, min_age=60)
    assert report.ok
    assert (report.counts["in_flight"], report.counts["settled"]) == (1, 0)


def test_cli_recheck_flags(live: Live) -> None:
    """`validate --recheck --recheck-delay 0` on agreeing stores; a negative delay is refused."""
    result = live.cli("validate", "--recheck", "--recheck-delay", "0")
    assert result.exit_code == 0, result.output
    assert result.stdout == "OK: 36 documents match\n"
    refused = live.cli("validate", "--recheck", "--recheck-delay", "-1")
    assert refused.exit_code == 2


def test_a_sampled_validation_rechecks_too(live: Live, monkeypatch: pytest.MonkeyPatch) -> None:
    """--sample with --recheck: the sampled difference settles, the report stays sampled."""
    new = live.doc(sid(2, 2)) | {"task": "second version"}
    live.put_json(P3, new)
    during_pause(monkeypatch, lambda: live.put_sql(P3, new))
    report = live.validate(sample=36, seed=7, recheck=True, recheck_delay=0)
    assert report.ok, report.to_dict()
    assert report.sampled and report.seed == 7 and report.population == 36
    assert report.counts["settled"] == 1


def test_a_recheck_counts_invalid_records_once(live: Live, monkeypatch: pytest.MonkeyPatch) -> None:
    """A record repeating a suspect's id is one invalid record, not one per read."""
    live.put_sql(P1, live.doc(sid(0, 6)) | {"task": "lost"})
    path = live.json_dir / f"{P1}.json"
    records = loads(path.read_bytes())
    records.append(live.doc(sid(0, 6)))
    path.write_bytes(dumps_pretty(records))
    during_pause(monkeypatch, lambda: None)
    report = live.validate(recheck=True, recheck_delay=0)
    assert report.counts["invalid_in_json"] == 1
    assert report.counts["mismatched"] == 1 and report.counts["settled"] == 0
