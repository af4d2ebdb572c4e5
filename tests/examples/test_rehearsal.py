"""The live migration rehearsal: its judges (the ledger, the kill rule, the verdict) fail when
they must, and a short rehearsal on SQLite (and, with --soak, on PostgreSQL) walks every phase
and back with nothing lost, nothing stale, no unexpected client error and a clean final
validation."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from examples.rehearsal.ledger import Ledger, Verdict
from examples.rehearsal.load import Request
from examples.rehearsal.report import closing_lines, expected, percentile, summarize
from examples.rehearsal.run import Settings, rehearse
from examples.rehearsal.timeline import Event, Timeline

#: Small enough for `make test` on 2 cores: the operator's commands set the pace, and the
#: less the load takes of the CPU, the sooner they run.
SHORT = Settings(out=Path("rehearsal"), duration=10, clients=5, workers=2, sessions=40, think=0.15)
PHASES = ["json-only", "dual-write", "sqlite-primary", "sqlite-only", "dual-write", "json-only"]


def doc(doc_id: str, version: int) -> dict[str, Any]:
    return {"id": doc_id, "task": f"v{version}", "n": 1}


def test_the_ledger_finds_lost_stale_resurrected_and_unknown_documents() -> None:
    ledger = Ledger()
    ledger.track("kept", "p", doc("kept", 2))
    ledger.track("lost", "p", doc("lost", 1))
    ledger.track("stale", "p", doc("stale", 3))
    ledger.track("deleted", "p", None)
    found = {
        "kept": doc("kept", 2),
        "stale": doc("stale", 2),
        "deleted": doc("deleted", 1),
        "stray": doc("stray", 1),
    }
    verdict = ledger.verify("store", found)
    assert (verdict.lost, verdict.stale) == (["lost"], ["stale"])
    assert (verdict.resurrected, verdict.unknown) == (["deleted"], ["stray"])
    assert not verdict.ok
    clean = ledger.verify("store", found, skip=["lost", "stale", "deleted", "stray"])
    assert clean.ok and clean.checked == 1


def test_an_unanswered_write_may_have_happened_or_not_but_nothing_else() -> None:
    """1 and 1.0 differ; either the acknowledged or the unanswered version is accepted."""
    ledger = Ledger()
    entry = ledger.track("a", "p", doc("a", 1))
    entry.maybe.append(doc("a", 2))
    assert ledger.verify("s", {"a": doc("a", 2)}).unconfirmed_applied == 1
    assert ledger.verify("s", {"a": doc("a", 1)}).unconfirmed_not_applied == 1
    assert ledger.verify("s", {"a": doc("a", 3)}).stale == ["a"]
    assert ledger.verify("s", {"a": doc("a", 1) | {"n": 1.0}}).stale == ["a"]
    gone = ledger.track("b", "p", doc("b", 1))
    gone.maybe.append(None)  # an unanswered delete
    assert ledger.verify("s", {"a": doc("a", 1)}).ok


def test_a_write_answered_after_a_moment_or_never_counts_as_written_since() -> None:
    """A write sent before the move back to json-only but answered after it may have been
    applied in json-only (it waited in a queue): SQL need not have it. Unanswered: the same."""
    ledger = Ledger()
    ledger.track("before", "p", None).last_done = 9.9
    ledger.track("after", "p", None).last_done = 10.5
    ledger.track("unanswered", "p", None).last_done = float("inf")
    ledger.track("never written", "p", None)
    assert ledger.answered_since(10.0) == {"after", "unanswered"}


def test_only_a_dropped_request_in_flight_at_the_kill_is_expected() -> None:
    kill = [10.0]
    assert expected(Request("get", 2, 9.5, 10.2, 0, "no answer"), kill)
    assert not expected(Request("get", 2, 9.5, 10.2, 503, "status 503"), kill)
    assert not expected(Request("get", 2, 12.0, 12.1, 0, "no answer"), kill)
    assert not expected(Request("get", 2, 8.0, 9.0, 0, "no answer"), kill)
    assert percentile([5.0, 1.0, 3.0, 2.0, 4.0], 50) == 3.0
    assert percentile([float(i) for i in range(1, 101)], 99) == 99.0


@pytest.mark.parametrize("flaw", ["lost", "client error", "validation", "operator"])
def test_any_flaw_fails_the_rehearsal(flaw: str) -> None:
    timeline = Timeline()
    timeline.enter("json-only")
    timeline.record(Event(5.0, "kill", "SIGKILL worker 1"))
    requests = [Request("get", 0, 4.9, 5.1, 0, "no answer: ReadError")]  # the kill's: fine
    verdict = Verdict("JSON store", checked=1)
    if flaw == "lost":
        verdict.lost.append("a")
    if flaw == "client error":
        requests.append(Request("update", 0, 1.0, 1.2, 500, "status 500: boom"))
    summary = summarize(
        requests,
        timeline,
        [verdict],
        operator_failed="phase set sqlite-only: exit 1" if flaw == "operator" else None,
        final_validation={"ok": flaw != "validation", "verdict": "..."},
        settings={},
    )
    assert summary["ok"] is False
    assert closing_lines(summary)[-1] == "REHEARSAL FAILED"
    assert summary["expected_errors"] == 1


def _assert_clean(summary: dict[str, Any], out: Path) -> None:
    report = "\n".join(closing_lines(summary))
    assert summary["ok"], report
    assert summary["lost"] == 0 and summary["stale"] == 0, report
    assert summary["unexpected_errors"] == 0, report
    assert summary["final_validation"]["ok"], report
    assert [w["phase"] for w in summary["windows"]] == PHASES
    assert all(w["all"]["requests"] > 0 for w in summary["windows"]), summary["windows"]
    assert {"get", "update", "list", "create", "delete", "query", "summaries", "search"} <= {
        op for w in summary["windows"] for op in w["operations"]
    }
    assert [e["kind"] for e in summary["events"]].count("kill") == 1
    assert any(e["kind"] == "restart" for e in summary["events"])
    assert json.loads((out / "summary.json").read_text()) == summary
    assert (out / "latency.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_short_rehearsal_on_sqlite(tmp_path: Path) -> None:
    """Every phase and back under 5 clients and 2 workers, one worker SIGKILLed: nothing
    lost or stale in either final store, no unexpected error, final validation clean."""
    out = tmp_path / "rehearsal"
    summary = rehearse(replace(SHORT, out=out), echo=False)
    _assert_clean(summary, out)
    assert summary["settings"]["database"] == "SQLite"


@pytest.mark.soak
def test_short_rehearsal_on_postgresql(tmp_path: Path, pg_db_url: str) -> None:
    """The same walk with the service and the operator on a PostgreSQL database (with --soak:
    `make test` walks the PostgreSQL store through every phase in tests/dual_write, which runs
    on both databases, and runs the rehearsal itself on SQLite)."""
    out = tmp_path / "rehearsal"
    summary = rehearse(
        replace(SHORT, out=out, db=pg_db_url),
        echo=False,
    )
    _assert_clean(summary, out)
    assert summary["settings"]["database"] == "PostgreSQL"


def test_a_database_password_never_reaches_the_report(tmp_path: Path) -> None:
    """The operator's log shows a PostgreSQL URL with its password hidden (the command's own
    output too: here, that it cannot connect)."""
    from examples.rehearsal.run import _run_migrator

    url = "postgresql://rehearsal:s3cret-pw@127.0.0.1:9/nowhere"
    code = _run_migrator(tmp_path, "doctor", "--json-dir", str(tmp_path), "--db", url, check=False)
    log = (tmp_path / "operator.log").read_text()
    assert code != 0 and "rehearsal:***@127.0.0.1" in log
    assert "s3cret-pw" not in log
