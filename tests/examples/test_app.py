"""The example service: every handler through HTTP (Starlette's TestClient, which runs the
lifespan), on real stores, in json-only and after `phase set dual-write`; refusals map to
4xx, never a 500."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

with warnings.catch_warnings():  # Starlette 1.x would rather use httpx2; httpx serves the same
    warnings.filterwarnings("ignore", message=".*httpx2")
    from starlette.testclient import TestClient

from migrator import import_store, validate
from migrator.adapters.json_store import JsonStore
from migrator.adapters.sql_store import SqlStore
from migrator.phase_guards import record_validation
from migrator.phases import set_phase
from migrator.schemas.declaration import Schema

WS = "00000000feed0000"


def session(doc_id: str, **changes: Any) -> dict[str, Any]:
    doc = {
        "id": doc_id,
        "type": "ensemble",
        "task": "t",
        "status": "running",
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
        "instances": [],
        "chat_history": [],
    }
    return doc | changes


@pytest.fixture
def stores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    json_dir, db = tmp_path / "store", tmp_path / "app.db"
    json_dir.mkdir()
    monkeypatch.setenv("SESSIONS_JSON_DIR", str(json_dir))
    monkeypatch.setenv("SESSIONS_DB", str(db))
    return json_dir, db


@pytest.fixture
def client(stores: tuple[Path, Path]) -> Iterator[TestClient]:
    from examples.app.service import app

    with TestClient(app) as http:
        yield http


def _to_sqlite_primary(json_dir: Path, db: Path, schema: Schema) -> None:
    """The operator's walk: dual-write, import, a recorded validation, sqlite-primary."""
    set_phase(json_dir, db, schema, "dual-write")
    import_store(json_dir, db)
    record_validation(json_dir, validate(json_dir, db))
    set_phase(json_dir, db, schema, "sqlite-primary")


def _crud(http: TestClient) -> None:
    assert http.post(f"/workspaces/{WS}/sessions", json=session("s1")).status_code == 201
    assert http.post(f"/workspaces/{WS}/sessions", json=session("s2")).status_code == 201
    assert http.get("/sessions/s1").json() == session("s1")
    message = {"id": "m1", "role": "user", "content": "hi", "timestamp": "2026-01-02T00:00:00Z"}
    change = {"status": "paused", "updated_at": "2026-01-02T00:00:00Z", "message": message}
    updated = http.patch(f"/workspaces/{WS}/sessions/s1", json=change)
    expected = session("s1", status="paused", updated_at=change["updated_at"])
    expected["chat_history"] = [message]
    assert updated.status_code == 200 and updated.json() == expected
    assert http.get("/sessions/s1").json() == expected
    listed = http.get(f"/workspaces/{WS}/sessions").json()
    assert [entry["id"] for entry in listed] == ["s1", "s2"]
    assert http.delete("/sessions/s2").status_code == 204
    assert http.get("/sessions/s2").status_code == 404
    assert http.delete("/sessions/s2").status_code == 404


def test_handlers_in_json_only_write_the_json_store(
    client: TestClient, stores: tuple[Path, Path], sessions_schema: Schema
) -> None:
    """Create, get, update (read, change, write back), list, delete: all in the JSON files."""
    _crud(client)
    assert client.get("/health").json()["phase"] == "json-only"
    docs = JsonStore(stores[0], sessions_schema).list(WS)
    assert [d["id"] for d in docs] == ["s1"] and docs[0]["status"] == "paused"


def test_handlers_in_dual_write_reach_both_stores(
    client: TestClient, stores: tuple[Path, Path], sessions_schema: Schema
) -> None:
    """After `phase set dual-write` (the running app follows it), every write reaches SQL."""
    json_dir, db = stores
    set_phase(json_dir, db, sessions_schema, "dual-write")
    assert client.get("/health").json()["phase"] == "dual-write"
    _crud(client)
    sql = SqlStore(db, sessions_schema, create=False)
    try:
        assert sql.list(WS) == JsonStore(json_dir, sessions_schema).list(WS)
        assert [d["id"] for d in sql.list(WS)] == ["s1"]
    finally:
        sql.close()


def test_refusals_are_4xx_with_a_reason(client: TestClient) -> None:
    """A document the schema refuses is 422, an unsafe workspace name 422, a missing session
    404: never a 500."""
    bad = client.post(f"/workspaces/{WS}/sessions", json=session("s1", status="sleeping"))
    assert bad.status_code == 422 and "status" in bad.json()["error"]
    assert client.post(f"/workspaces/{WS}/sessions", json=[1]).status_code == 422
    assert client.post("/workspaces/.hidden/sessions", json=session("s3")).status_code == 422
    assert client.patch(f"/workspaces/{WS}/sessions/nope", json={}).status_code == 404


def test_an_id_another_workspace_keeps_is_409_once_sql_is_primary(
    client: TestClient, stores: tuple[Path, Path], sessions_schema: Schema
) -> None:
    """SQL knows every id's workspace: a create under another one is refused, 409."""
    json_dir, db = stores
    assert client.post(f"/workspaces/{WS}/sessions", json=session("s1")).status_code == 201
    _to_sqlite_primary(json_dir, db, sessions_schema)
    other = client.post("/workspaces/00000000feed0001/sessions", json=session("s1"))
    assert other.status_code == 409, other.text


def test_find_and_summaries_answer_the_same_in_json_only_and_sqlite_primary(
    client: TestClient, stores: tuple[Path, Path], sessions_schema: Schema
) -> None:
    """`GET /sessions?...` is `store.find` (criteria, order, limit, cursor) and
    `GET /workspaces/{ws}/summaries` is `store.summaries`: the same answers whichever store
    serves them; a bad criterion or limit is a 422."""
    for n, status in enumerate(["running", "failed", "failed", "paused"]):
        doc = session(f"s{n}", status=status, updated_at=f"2026-01-0{n + 1}T00:00:00Z")
        assert client.post(f"/workspaces/{WS}/sessions", json=doc).status_code == 201

    def answers() -> tuple[Any, ...]:
        found = client.get("/sessions", params={"status": "failed", "order": "-updated_at"})
        first = client.get("/sessions", params={"order": "updated_at", "limit": "2"}).json()
        rest = client.get("/sessions", params={"order": "updated_at", "after": first["cursor"]})
        summaries = client.get(f"/workspaces/{WS}/summaries").json()
        return found.json()["items"], first["items"], rest.json()["items"], summaries

    in_json = answers()
    assert [s["id"] for s in in_json[0]] == ["s2", "s1"]
    assert [s["id"] for s in in_json[1] + in_json[2]] == ["s0", "s1", "s2", "s3"]
    assert [s["id"] for s in in_json[3]] == ["s0", "s1", "s2", "s3"]
    assert all("instances" not in s and "chat_history" not in s for s in in_json[3])
    json_dir, db = stores
    _to_sqlite_primary(json_dir, db, sessions_schema)
    assert answers() == in_json
    bad = client.get("/sessions", params={"colour": "red"})
    assert bad.status_code == 422 and "colour" in bad.json()["error"]
    assert client.get("/sessions", params={"limit": "many"}).status_code == 422


def test_search_answers_the_same_in_json_only_and_sqlite_primary(
    client: TestClient, stores: tuple[Path, Path], sessions_schema: Schema
) -> None:
    """`GET /search?q=...` is `store.search`: ranked hits with a snippet, the same ids in the
    same order whichever store serves them; text with nothing to find is a 422."""
    tasks = {"s0": "refactor the parser", "s1": "explain the parser", "s2": "refactor it again"}
    for doc_id, task in tasks.items():
        assert (
            client.post(f"/workspaces/{WS}/sessions", json=session(doc_id, task=task)).status_code
            == 201
        )

    def answers() -> list[list[str]]:
        found = []
        for text in ("refactor", "parser", '"the parser"', "refac*"):
            response = client.get("/search", params={"q": text})
            assert response.status_code == 200, response.text
            assert all(hit["snippet"] for hit in response.json())
            found.append([hit["id"] for hit in response.json()])
        return found

    in_json = answers()
    assert sorted(in_json[0]) == ["s0", "s2"] and sorted(in_json[1]) == ["s0", "s1"]
    assert in_json[3] == in_json[0]
    json_dir, db = stores
    _to_sqlite_primary(json_dir, db, sessions_schema)
    assert answers() == in_json
    assert client.get("/search", params={"q": "  "}).status_code == 422
    assert client.get("/search", params={"q": "x", "limit": "many"}).status_code == 422
