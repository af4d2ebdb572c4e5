"""The mixed, bounded load: N concurrent clients on one HTTP connection pool.

Each client owns some of the original documents (dealt round-robin) and the sessions it
creates, and loops over weighted operations (get, update, list, create, delete, plus the
queries the service offers) with a short pause between requests, until it is told to stop,
its request budget is spent or the time limit passes. It checks every answer against its own
model: a read that returns another version than the last acknowledged write is a failure,
as is any 5xx, any unexpected status, and any dropped request outside the operator's kill.
"""

from __future__ import annotations

import asyncio
import math
import random
import threading
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from examples.rehearsal.ledger import Document, Ledger, Tracked, same
from examples.rehearsal.timeline import Timeline

WEIGHTS = {
    "get": 30,
    "update": 25,
    "list": 10,
    "create": 10,
    "delete": 5,
    "query": 12,
    "summaries": 8,
    "search": 6,
}
STATUSES = ("running", "completed", "failed", "paused")
#: Sessions a client keeps alive at most: it creates while below, deletes now and then.
LIVE_PER_CLIENT = 12


@dataclass
class Request:
    """One request as the client saw it (seconds since the start)."""

    op: str
    window: int
    start: float
    end: float
    status: int  # 0: no answer (the connection dropped or timed out)
    problem: str = ""  # why it failed, "" when it did not

    @property
    def latency_ms(self) -> float:
        return (self.end - self.start) * 1000


@dataclass
class LoadSettings:
    clients: int = 20
    #: Each client's pause between requests, seconds (uniform in [0, 2 * think]).
    think: float = 0.1
    max_requests_per_client: int = 100_000
    time_limit: float = 600.0
    timeout: float = 30.0
    seed: int = 1


@dataclass
class LoadResult:
    requests: list[Request] = field(default_factory=list)


def now_version() -> str:
    """A fresh `updated_at`: RFC 3339 with microseconds, what `validate --min-age` reads."""
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def new_session(rng: random.Random, client: int) -> Document:
    stamp = now_version()
    return {
        "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "type": rng.choice(["competition", "ensemble", "debate"]),
        "task": f"rehearsal client {client}: {rng.choice(['fix', 'refactor', 'explain'])}",
        "status": "running",
        "created_at": stamp,
        "updated_at": stamp,
        "completed_at": None,
        "instances": [],
        "chat_history": [],
        "model": rng.choice(["sonnet", "opus", None]),
    }


class Client:
    """One user of the service: sequential requests on its own documents."""

    def __init__(
        self,
        index: int,
        http: httpx.AsyncClient,
        ledger: Ledger,
        owned: list[str],
        partitions: list[str],
        timeline: Timeline,
        settings: LoadSettings,
        sink: list[Request],
    ) -> None:
        self.index = index
        self.http = http
        self.ledger = ledger
        self.owned = owned  # ids this client may write, certain ones only
        self.partitions = partitions
        self.timeline = timeline
        self.settings = settings
        self.sink = sink
        self.rng = random.Random(settings.seed * 1000 + index)
        self.created: list[str] = []
        self.ops: dict[str, Callable[[], Coroutine[Any, Any, None]]] = {
            "get": self.get,
            "update": self.update,
            "list": self.list,
            "create": self.create,
            "delete": self.delete,
            "query": self.query,
            "summaries": self.summaries,
            "search": self.search,
        }

    async def run(self, stop: threading.Event, deadline: float) -> None:
        names = list(self.ops)
        weights = [WEIGHTS[n] for n in names]
        for _ in range(self.settings.max_requests_per_client):
            if stop.is_set() or time.monotonic() > deadline:
                return
            await self.ops[self.rng.choices(names, weights)[0]]()
            await asyncio.sleep(self.rng.uniform(0, 2 * self.settings.think))

    # ------------------------------------------------------------------ operations

    async def get(self) -> None:
        doc_id = self._pick()
        if doc_id is None:
            return await self.list()
        entry = self.ledger.docs[doc_id]
        response, req = await self._send("get", "GET", f"/sessions/{doc_id}")
        if response is None:
            return
        if response.status_code == 404 and entry.acked is not None:
            req.problem = "lost: 404 for an acknowledged document"
        elif response.status_code == 200 and not same(response.json(), entry.acked):
            req.problem = "stale read: not the last acknowledged version"
        elif response.status_code not in (200, 404):
            req.problem = f"status {response.status_code}: {response.text[:200]}"

    async def update(self) -> None:
        doc_id = self._pick()
        if doc_id is None:
            return await self.create()
        entry = self.ledger.docs[doc_id]
        assert entry.acked is not None
        version = now_version()
        message = {
            "id": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
            "role": self.rng.choice(["user", "assistant"]),
            "content": f"step {len(entry.acked.get('chat_history', []))} at {version}",
            "timestamp": version,
        }
        status = self.rng.choice(["running", "paused", "completed"])
        change = {"status": status, "updated_at": version, "message": message}
        expected = dict(entry.acked, status=status, updated_at=version)
        expected["chat_history"] = [*entry.acked.get("chat_history", []), message]
        path = f"/workspaces/{entry.partition}/sessions/{doc_id}"
        await self._write(doc_id, entry, expected, "update", "PATCH", path, json=change)

    async def list(self) -> None:
        partition = self.rng.choice(self.partitions)
        response, req = await self._send("list", "GET", f"/workspaces/{partition}/sessions")
        if response is not None and response.status_code != 200:
            req.problem = f"status {response.status_code}: {response.text[:200]}"

    async def query(self) -> None:
        """`store.find` through the service: one status in one workspace, newest first. Every
        answer must meet the criterion, in order (other clients write meanwhile, so the
        set itself is not checked)."""
        status = self.rng.choice(STATUSES)
        params = {"status": status, "order": "-updated_at", "limit": "20"}
        params["workspace"] = self.rng.choice(self.partitions)
        response, req = await self._send("query", "GET", "/sessions", params=params)
        if response is None:
            return
        if response.status_code != 200:
            req.problem = f"status {response.status_code}: {response.text[:200]}"
            return
        items = response.json()["items"]
        stamps = [item.get("updated_at") or "" for item in items]
        if any(item.get("status") != status for item in items) or stamps != sorted(
            stamps, reverse=True
        ):
            req.problem = f"query answer does not meet status={status}, newest first"

    async def summaries(self) -> None:
        partition = self.rng.choice(self.partitions)
        path = f"/workspaces/{partition}/summaries"
        response, req = await self._send("summaries", "GET", path)
        if response is None:
            return
        if response.status_code != 200:
            req.problem = f"status {response.status_code}: {response.text[:200]}"
        elif any("instances" in s or "chat_history" in s for s in response.json()):
            req.problem = "a summary holds a child list"

    async def search(self) -> None:
        """`store.search` through the service: a word of the tasks the clients write. Every
        hit must name a session and carry a snippet (others write meanwhile, so the set
        itself is not checked)."""
        word = self.rng.choice(["fix", "refactor", "explain"])
        params = {"q": word, "limit": "10"}
        response, req = await self._send("search", "GET", "/search", params=params)
        if response is None:
            return
        if response.status_code != 200:
            req.problem = f"status {response.status_code}: {response.text[:200]}"
        elif any(not hit.get("id") or not hit.get("snippet") for hit in response.json()):
            req.problem = f"a search hit for {word!r} has no id or no snippet"

    async def create(self) -> None:
        if len(self.created) >= LIVE_PER_CLIENT:
            return await self.get()
        doc = new_session(self.rng, self.index)
        partition = self.rng.choice(self.partitions)
        entry = self.ledger.track(doc["id"], partition, None)
        self.created.append(doc["id"])
        self.owned.append(doc["id"])
        path = f"/workspaces/{partition}/sessions"
        await self._write(doc["id"], entry, doc, "create", "POST", path, json=doc)

    async def delete(self) -> None:
        doc_id = self._pick()
        if doc_id is None:
            return await self.create()
        entry = self.ledger.docs[doc_id]
        await self._write(doc_id, entry, None, "delete", "DELETE", f"/sessions/{doc_id}")

    # ------------------------------------------------------------------ plumbing

    def _pick(self) -> str | None:
        live = [i for i in self.owned if self.ledger.docs[i].acked is not None]
        return self.rng.choice(live) if live else None

    async def _write(
        self,
        doc_id: str,
        entry: Tracked,
        expected: Document | None,
        op: str,
        method: str,
        path: str,
        **kwargs: Any,
    ) -> None:
        """Send a write; on an answer, the model moves on; on none, the document has two
        acceptable versions from now on and this client leaves it alone."""
        response, req = await self._send(op, method, path, **kwargs)
        entry.last_done = req.end if response is not None else math.inf
        if response is None:
            entry.maybe.append(expected)
            self.owned.remove(doc_id)
            return
        ok_status = {"create": 201, "update": 200, "delete": 204}[op]
        if response.status_code == ok_status:
            entry.acked = expected
            if op == "update" and not same(response.json(), expected):
                req.problem = "stale update: the service changed an older version"
                entry.acked = response.json()
            if op == "delete":
                self.owned.remove(doc_id)
                if doc_id in self.created:
                    self.created.remove(doc_id)
            return
        if response.status_code == 404 and entry.acked is not None:
            req.problem = f"lost: 404 on {op} of an acknowledged document"
        else:
            req.problem = f"status {response.status_code}: {response.text[:200]}"
        if response.status_code >= 500:  # it may have happened: keep both versions
            entry.last_done = math.inf
            entry.maybe.append(expected)
            self.owned.remove(doc_id)

    async def _send(
        self, op: str, method: str, path: str, **kwargs: Any
    ) -> tuple[httpx.Response | None, Request]:
        window = self.timeline.window
        start = self.timeline.now()
        try:
            response: httpx.Response | None = await self.http.request(method, path, **kwargs)
            problem = ""
        except httpx.HTTPError as exc:
            response, problem = None, f"no answer: {type(exc).__name__}: {exc}"
        status = 0 if response is None else response.status_code
        req = Request(op, window, start, self.timeline.now(), status, problem)
        if response is not None and response.status_code >= 500:
            req.problem = f"status {response.status_code}: {response.text[:200]}"
        self.sink.append(req)
        return response, req


def deal(ids: list[str], clients: int) -> list[list[str]]:
    """The original documents dealt round-robin: client i owns every i-th one."""
    return [ids[i::clients] for i in range(clients)]


async def run_load(
    base_url: str,
    ledger: Ledger,
    partitions: list[str],
    timeline: Timeline,
    settings: LoadSettings,
    stop: threading.Event,
) -> LoadResult:
    """Run the clients until `stop` is set, their budgets are spent or the time limit."""
    result = LoadResult()
    limits = httpx.Limits(
        max_connections=settings.clients, max_keepalive_connections=settings.clients
    )
    timeout = httpx.Timeout(settings.timeout)
    deadline = time.monotonic() + settings.time_limit
    owned = deal(sorted(ledger.docs), settings.clients)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=timeout) as http:
        clients = [
            Client(i, http, ledger, owned[i], partitions, timeline, settings, result.requests)
            for i in range(settings.clients)
        ]
        await asyncio.gather(*(c.run(stop, deadline) for c in clients))
    return result
