"""No advice loses data: stores where documents exist in one store only, or where one store
holds a newer version, then every command the toolkit prints as a fix (check's items, doctor's
details, the guards' refusals, restore's `next:` steps) is parsed out of the real output and run
through the CLI, in order. Afterwards every version planted as the newest of its document, and
every document that existed in one store only, is still in a store.

"Lost" means gone from both live stores: the safety snapshots the commands take are not
counted, since an operator should not need them."""

from __future__ import annotations

import json
import re
import shlex
import time
from typing import Any

import pytest

from migrator.adapters.json_store import JsonStore
from migrator.adapters.phase_state import Phase
from migrator.adapters.sql_store import SqlStore
from tests.live.conftest import P1, P3, Live, sid, stamp
from tests.recovery.conftest import json_documents, sql_documents

EMPTY = {"instances": [], "chat_history": []}
#: A command line inside a hint (hints join commands with ", ", "; ", " then " and backquotes).
COMMAND = re.compile(r"migrator [^,;`]+?(?=,|;|`| then |$)")
#: Options that skip the safety snapshot, for speed; what the hint says is otherwise unchanged
#: (`phase recover` takes no snapshot, so no such option).
SNAPSHOTS = ("import", "repair", "restore", "phase")


def hints(text: str) -> list[str]:
    """Every `migrator ...` command line in `text`, in order."""
    return [m.group(0).strip() for m in COMMAND.finditer(text)]


def run_hint(live: Live, line: str) -> int:
    """Run one printed command through the CLI; its exit code (a refusal is safe advice)."""
    words = shlex.split(line)
    assert words[0] == "migrator", line
    snapshots = words[1] in SNAPSHOTS and words[1:3] != ["phase", "recover"]
    extra = ["--no-snapshot"] if snapshots and "--dry-run" not in words else []
    result = live.cli(*words[1:], *extra)
    assert result.exit_code in (0, 1, 2), (line, result.output)
    assert "Traceback" not in result.output, (line, result.output)
    return result.exit_code


def _forward(live: Live, to: Phase) -> None:
    if to is Phase.JSON_ONLY:
        return
    assert live.cli("phase", "set", "dual-write").exit_code == 0
    if to is Phase.SQLITE_PRIMARY:
        assert live.cli("validate").exit_code == 0
        assert live.cli("phase", "set", "sqlite-primary").exit_code == 0


def _plant(live: Live) -> dict[str, dict[str, Any]]:
    """In one partition (so its file is read again): one document only in JSON, one newer in
    JSON, then one only in SQL and one newer in SQL (each written outside the dual-write store,
    as a restore or a hand edit would leave them; SQL's written last, so newer than anything in
    the file); and one newer in SQL in a partition whose file did not change. The versions that
    must survive, by id."""
    json_store = JsonStore(live.json_dir, live.schema)
    precious = {
        "only-json": live.doc(sid(0, 1)) | {"id": "only-json", "updated_at": stamp(), **EMPTY},
        sid(0, 5): live.doc(sid(0, 5)) | {"task": "newer in JSON", "updated_at": stamp()},
    }
    json_store.put(P1, precious["only-json"])
    json_store.put(P1, precious[sid(0, 5)])
    time.sleep(0.01)
    precious |= {
        "only-sql": live.doc(sid(0, 1)) | {"id": "only-sql", "updated_at": stamp(), **EMPTY},
        sid(0, 6): live.doc(sid(0, 6)) | {"task": "newer in SQL", "updated_at": stamp()},
        sid(2, 5): live.doc(sid(2, 5)) | {"task": "newer in SQL", "updated_at": stamp()},
    }
    sql = SqlStore(live.db, live.schema)
    try:
        sql.put(P1, precious["only-sql"])
        sql.put(P1, precious[sid(0, 6)])
        sql.put(P3, precious[sid(2, 5)])
    finally:
        sql.close()
    return precious


def _assert_nothing_lost(live: Live, precious: dict[str, dict[str, Any]], ran: list[str]) -> None:
    in_json = json_documents(live.json_dir, live.schema)
    in_sql = sql_documents(live.db, live.schema)
    for doc_id, version in precious.items():
        kept = [in_json.get(doc_id), in_sql.get(doc_id)]
        assert version in kept, (doc_id, "lost after running", ran)


def _check_hints(live: Live) -> list[str]:
    """The fixes of check's failed items; when it is ready, the move it says is ready."""
    result = live.cli("check", "--format", "json")
    assert result.exit_code in (0, 1), result.output
    checked = json.loads(result.stdout)
    if checked["ready"] and checked["next_phase"] not in (None, "sqlite-only"):
        return [f"migrator phase set {checked['next_phase']}"]
    return [line for item in checked["items"] if not item["passed"] for line in hints(item["fix"])]


@pytest.mark.parametrize("phase", [Phase.JSON_ONLY, Phase.DUAL_WRITE, Phase.SQLITE_PRIMARY])
def test_following_checks_advice_loses_nothing(live: Live, phase: Phase) -> None:
    """Rounds of `check` and its fixes (or the move it finds ready), run as printed: no
    planted version is lost."""
    _forward(live, phase)
    precious = _plant(live)
    ran: list[str] = []
    for _ in range(4):
        lines = _check_hints(live)
        if not lines:
            break
        for line in lines:
            run_hint(live, line)
            ran.append(line)
            _assert_nothing_lost(live, precious, ran)
    assert ran, "check printed no fix at all"
    _assert_nothing_lost(live, precious, ran)


@pytest.mark.parametrize("target", ["sqlite-primary", "sqlite-only"])
def test_following_a_refused_moves_advice_loses_nothing(live: Live, target: str) -> None:
    """A refused `phase set` names what to run: run as printed, no planted version is lost."""
    _forward(live, Phase.DUAL_WRITE if target == "sqlite-primary" else Phase.SQLITE_PRIMARY)
    precious = _plant(live)
    refused = live.cli("phase", "set", target, "--no-snapshot")
    assert refused.exit_code == 2, refused.output
    lines = hints(refused.stderr)
    assert lines, refused.stderr
    for line in lines:
        run_hint(live, line)
    _assert_nothing_lost(live, precious, lines)


def test_following_doctors_and_status_advice_loses_nothing(live: Live) -> None:
    """doctor's and status's details name commands too: run as printed, nothing is lost."""
    _forward(live, Phase.DUAL_WRITE)
    precious = _plant(live)
    from migrator.adapters.journal import Journal, Side, revision_of

    revision = revision_of(precious[sid(0, 5)])
    Journal(live.json_dir).begin("put", sid(0, 5), P1, Side.JSON, revision)
    lines = []
    for command in (("doctor",), ("status",)):
        result = live.cli(*command)
        lines += hints(result.stdout + result.stderr)
    assert lines
    for line in lines:  # a bare `migrator repair` finds the stores in the environment
        run_hint(live, line)
    _assert_nothing_lost(live, precious, lines)
