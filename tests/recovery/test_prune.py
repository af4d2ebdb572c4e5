"""`import --prune` deletes what the application deleted from JSON, and holds back (counted,
said, deleted only with --prune-all) what the JSON store may never have had."""

from __future__ import annotations

import json
import time

from migrator.adapters.phase_state import Phase
from tests.live.conftest import P1, P2, Live, sid, stamp
from tests.recovery.conftest import sql_documents

#: A copied session with no child rows, so it takes no child id another session has.
EMPTY = {"instances": [], "chat_history": []}


def _prune(live: Live, *flags: str) -> dict[str, int]:
    result = live.cli("import", "--prune", *flags, "--format", "json", "--no-snapshot")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    return {key: summary[key] for key in ("gone", "pruned", "held")}


def test_an_emptied_json_store_empties_nothing(live: Live) -> None:
    """Every partition file gone (a JSON restore of a sqlite-only backup looks like this):
    --prune deletes nothing and says how many --prune-all would delete."""
    live.set_phase(Phase.DUAL_WRITE)
    for path in live.json_dir.glob("*.json"):
        path.unlink()
    assert _prune(live) == {"gone": 36, "pruned": 0, "held": 36}
    assert len(sql_documents(live.db, live.schema)) == 36
    text = live.cli("import", "--prune", "--no-snapshot")
    assert "--prune-all would delete those 36" in " ".join(text.stdout.split())
    assert _prune(live, "--prune-all") == {"gone": 36, "pruned": 36, "held": 0}
    assert sql_documents(live.db, live.schema) == {}


def test_a_document_the_json_store_never_had_is_kept(live: Live) -> None:
    """A document only SQL has, written after anything in its file (changed since its
    import, so it is read again): held back."""
    fresh = live.doc(sid(0, 1)) | {"id": "only-in-sql", "updated_at": stamp(), **EMPTY}
    live.put_sql(P1, fresh)
    live.put_json(P1, live.doc(sid(0, 3)) | {"task": "edited"})  # so the file is read again
    assert _prune(live) == {"gone": 1, "pruned": 0, "held": 1}
    assert "only-in-sql" in sql_documents(live.db, live.schema)


def test_newer_in_sql_than_the_move_into_dual_write_is_kept(live: Live) -> None:
    """In dual-write, a document created since the move (a delete of it would have reached
    SQL) and absent from an older copy of its file put back by hand, which then got a newer
    edit: held back, by the move's time alone."""
    assert live.cli("phase", "set", "dual-write").exit_code == 0
    time.sleep(0.01)
    older = (live.json_dir / f"{P2}.json").read_bytes()
    created = live.doc(sid(1, 2)) | {"id": "dual-new", "updated_at": stamp(), **EMPTY}
    live.put_json(P2, created)
    live.put_sql(P2, created)
    (live.json_dir / f"{P2}.json").write_bytes(older)
    time.sleep(0.01)
    live.put_json(P2, live.doc(sid(1, 3)) | {"updated_at": stamp()})  # newer than dual-new
    live.put_sql(P2, live.doc(sid(1, 3)))
    assert _prune(live) == {"gone": 1, "pruned": 0, "held": 1}
    assert "dual-new" in sql_documents(live.db, live.schema)


def test_a_delete_made_in_json_only_is_still_pruned(live: Live) -> None:
    """The story --prune is for: the application deleted an older document while in
    json-only, after an import: it is deleted from SQL, nothing held back."""
    live.put_json(P1, live.doc(sid(0, 1)) | {"id": "new-in-json", "updated_at": stamp(), **EMPTY})
    assert live.cli("import", "--no-snapshot").exit_code == 0
    from migrator.adapters.json_store import JsonStore

    assert JsonStore(live.json_dir, live.schema).delete(sid(0, 2))
    assert _prune(live) == {"gone": 1, "pruned": 1, "held": 0}
    assert sid(0, 2) not in sql_documents(live.db, live.schema)
