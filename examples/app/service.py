"""The session service: a Starlette app whose handlers use `migrator.open_store`.

It is the README's adoption example as a web service. Each worker process opens one store at
start-up (the lifespan) and closes it at shutdown; every handler calls the store the same way
whatever the migration phase, because the store routes each call by the phase on disk.

Configuration comes from the environment, as a deployed service's would:
`SESSIONS_JSON_DIR` (the legacy store) and `SESSIONS_DB` (a SQLite path or a PostgreSQL URL).

The store's calls block (file locks, fsync, database round trips), so each handler runs them
in Starlette's thread pool (`run_in_threadpool`) and the event loop keeps serving. A
`MigratorError` becomes a JSON error whose status says whose fault it was; anything else is a
500, which the rehearsal counts as a failure.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

import migrator
from migrator.errors import (
    DocumentError,
    MigratorError,
    PartitionConflictError,
    UnsafePartitionError,
    UsageError,
)

Document = dict[str, Any]


def _store(request: Request) -> migrator.DualWriteStore:
    store: migrator.DualWriteStore = request.app.state.store
    return store


async def health(request: Request) -> Response:
    """The worker's pid and the phase it sees: how the rehearsal finds the workers."""
    phase = await run_in_threadpool(lambda: _store(request).phase)
    return JSONResponse({"pid": os.getpid(), "phase": phase.value})


async def create_session(request: Request) -> Response:
    """Store a new session under its workspace (201), or replace one of the same id."""
    doc = await request.json()
    if not isinstance(doc, dict):
        return _error(422, "the body must be a session object")
    await run_in_threadpool(_store(request).put, request.path_params["workspace"], doc)
    return JSONResponse(doc, status_code=201)


async def get_session(request: Request) -> Response:
    doc = await run_in_threadpool(_store(request).get, request.path_params["session_id"])
    if doc is None:
        return _error(404, "no such session")
    return JSONResponse(doc)


async def update_session(request: Request) -> Response:
    """Read, change and write back a session: set its status, task or `updated_at`, append a
    chat message. The read and the write are two store calls, as in any application; the
    caller keeps one writer per session."""
    change = await request.json()
    if not isinstance(change, dict):
        return _error(422, "the body must be an object")
    doc = await run_in_threadpool(_update, _store(request), request.path_params, change)
    if doc is None:
        return _error(404, "no such session")
    return JSONResponse(doc)


def _update(
    store: migrator.DualWriteStore, params: dict[str, Any], change: Document
) -> Document | None:
    doc = store.get(params["session_id"])
    if doc is None:
        return None
    for key in ("status", "updated_at", "task"):
        if key in change:
            doc[key] = change[key]
    if "message" in change:
        doc["chat_history"] = [*doc.get("chat_history", []), change["message"]]
    store.put(params["workspace"], doc)
    return doc


async def list_sessions(request: Request) -> Response:
    """The workspace's sessions in stored order, as short entries (id, status, updated_at)."""
    docs = await run_in_threadpool(_store(request).list, request.path_params["workspace"])
    keys = ("id", "status", "updated_at")
    return JSONResponse([{k: d.get(k) for k in keys} for d in docs])


async def summaries(request: Request) -> Response:
    """The workspace's sessions without their child lists (`store.summaries`)."""
    found = await run_in_threadpool(_store(request).summaries, request.path_params["workspace"])
    return JSONResponse(found)


#: Query parameters of `GET /sessions` that shape the answer; every other one is a criterion.
_SHAPING = ("order", "limit", "after", "workspace")


async def find_sessions(request: Request) -> Response:
    """`store.find` from the query string: `?status=failed&created_at__gte=2025-01-01
    &order=-created_at&limit=50&after=CURSOR&workspace=HASH`. A value that parses as JSON is
    that value (`limit=50`, `winner_id=3`, `null` ...), anything else a string."""
    params = request.query_params
    where = {k: _value(v) for k, v in params.items() if k not in _SHAPING}
    limit = params.get("limit")
    if limit is not None and not limit.isdigit():
        return _error(422, f"limit must be a whole number, not {limit!r}")
    page = await run_in_threadpool(
        lambda: _store(request).find(
            where=where,
            partition=params.get("workspace"),
            order=params.getlist("order"),
            limit=None if limit is None else int(limit),
            after=params.get("after"),
        )
    )
    return JSONResponse({"items": list(page), "cursor": page.cursor})


async def search_sessions(request: Request) -> Response:
    """`store.search` from the query string: `?q=words "a phrase" prefix*&limit=20`, ranked
    hits with a snippet each."""
    params = request.query_params
    limit = params.get("limit", "20")
    if not limit.isdigit():
        return _error(422, f"limit must be a whole number, not {limit!r}")
    hits = await run_in_threadpool(
        lambda: _store(request).search(params.get("q", ""), limit=int(limit))
    )
    return JSONResponse([hit.to_dict() for hit in hits])


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


async def delete_session(request: Request) -> Response:
    deleted = await run_in_threadpool(_store(request).delete, request.path_params["session_id"])
    if not deleted:
        return _error(404, "no such session")
    return Response(status_code=204)


def _error(status: int, message: str) -> Response:
    return JSONResponse({"error": message}, status_code=status)


async def _migrator_error(request: Request, exc: Exception) -> Response:
    """A refused request names why; a store that cannot serve it now is a 503."""
    if isinstance(exc, DocumentError | UsageError | UnsafePartitionError):
        return _error(422, str(exc))
    if isinstance(exc, PartitionConflictError):
        return _error(409, str(exc))
    return _error(503, f"{type(exc).__name__}: {exc}")


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    """One store per worker process, opened at start-up, closed at shutdown."""
    store = migrator.open_store(os.environ["SESSIONS_JSON_DIR"], os.environ["SESSIONS_DB"])
    app.state.store = store
    try:
        yield
    finally:
        store.close()


routes = [
    Route("/health", health),
    Route("/sessions", find_sessions, methods=["GET"]),
    Route("/search", search_sessions, methods=["GET"]),
    Route("/sessions/{session_id}", get_session, methods=["GET"]),
    Route("/sessions/{session_id}", delete_session, methods=["DELETE"]),
    Route("/workspaces/{workspace}/sessions", list_sessions, methods=["GET"]),
    Route("/workspaces/{workspace}/sessions", create_session, methods=["POST"]),
    Route("/workspaces/{workspace}/summaries", summaries, methods=["GET"]),
    Route("/workspaces/{workspace}/sessions/{session_id}", update_session, methods=["PATCH"]),
]

app = Starlette(
    routes=routes,
    lifespan=lifespan,
    exception_handlers={MigratorError: _migrator_error},
)
