"""A synthetic legacy session store: realistic enough to rehearse and measure a migration.

One `<16 hex digits>.json` file per workspace with about 100 sessions each; each session has
1-10 instances (tool output of a few KB, now and then a large one) and about a dozen chat
messages; text mixes ASCII with accents, CJK, emoji and astral characters; optional fields are
sometimes absent and sometimes null, and a few sessions carry keys the schema does not know.

The same seed gives the same bytes. Files are written one at a time, so memory stays that of
one file whatever the store's size. Choice lists come from the schema value handed in (the
engine never imports a particular schema).
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from migrator.adapters.fs import write_atomically
from migrator.errors import UsageError
from migrator.schemas.declaration import Schema, TableMapping
from migrator.schemas.jsontext import dumps_pretty
from migrator.schemas.registry import resolve

logger = logging.getLogger(__name__)

SESSIONS_PER_FILE = 100
_EPOCH = 1_735_689_600  # 2025-01-01T00:00:00Z
_CORPUS_CHARS = 1 << 20
_AGENTS = ("claude", "codex", "gemini", "aider", "cursor")
_MODELS = ("sonnet", "opus", "haiku", "gpt-5", "gemini-2.5-pro")
_WORDS = (
    "refactor the session store",
    "fix the flaky test in ci",
    "add pagination to the list view",
    "migrate JSON files to SQLite",
    "Grüße aus Köln: übersetze die Oberfläche",
    "日本語のドキュメントを更新する",
    "réécrire le module d'import",
    "emoji support 🚀 in commit messages",
    "astral plane 𝄞 handling",
    "Привет: add Cyrillic slugs",
    "speed up the tokenizer by 2x",
    "explain why the cache misses",
)
_LOG_LINES = (
    "running cargo test --workspace",
    "test result: ok. 128 passed; 0 failed; 3 ignored",
    "warning: unused variable `session` at src/store.rs:{n}",
    "Compiling ait42-session v0.{n}.0",
    "diff --git a/src/lib.rs b/src/lib.rs",
    "+    let conn = pool.get().await?;",
    "-    let data = fs::read_to_string(path)?;",
    "✓ {n} files checked, no issues",
    "エラー: ファイルが見つかりません ({n})",
    "Fertig nach {n} ms — alles grün ✅",
    "\tat com.example.Store.load(Store.java:{n})",
    '{{"event": "tool_call", "tool": "edit", "lines": {n}}}',
)


@dataclass(frozen=True)
class GenerateSummary:
    """What `generate_store` wrote."""

    directory: Path
    files: int
    sessions: int
    bytes: int
    seed: int


def generate_store(
    out_dir: Path | str,
    *,
    sessions: int,
    schema: Schema | str = "sessions",
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> GenerateSummary:
    """Write `sessions` synthetic sessions under `out_dir` (created if missing), file by file.

    `progress(sessions_written, bytes_written)` is called after each file.
    """
    if sessions < 0:
        raise UsageError(f"sessions must be 0 or more, not {sessions}", parameters=["sessions"])
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise UsageError(f"out_dir {out} exists and is not a directory", parameters=["out_dir"])
    existing = sorted(out.glob("*.json")) if out.is_dir() else []
    if existing:
        raise UsageError(
            f"out_dir {out} already holds partition files ({existing[0].name}, ...)",
            parameters=["out_dir"],
        )
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = exc.strerror or exc
        raise UsageError(
            f"out_dir {out}: cannot create it: {reason}", parameters=["out_dir"]
        ) from exc
    maker = _SessionMaker(resolve(schema), random.Random(seed))
    written = files = total_bytes = 0
    while written < sessions:
        count = min(sessions - written, maker.rng.randint(60, 140))
        name = maker.workspace_hash()
        docs = [maker.session() for _ in range(count)]
        data = dumps_pretty(docs)
        write_atomically(out / f"{name}.json", data)
        written += count
        files += 1
        total_bytes += len(data)
        if progress is not None:
            progress(written, total_bytes)
    logger.info("generated %s sessions in %s files under %s", written, files, out)
    return GenerateSummary(out, files, written, total_bytes, seed)


class _SessionMaker:
    """Builds session documents from one random stream; text comes from a precomputed corpus
    (slicing it is what keeps 100k sessions within a minute or two)."""

    def __init__(self, schema: Schema, rng: random.Random) -> None:
        self.rng = rng
        root = schema.root_mapping
        children = {
            child.key: m for child, m in zip(schema.children, schema.child_mappings, strict=True)
        }
        if "instances" not in children or "chat_history" not in children:
            raise UsageError(
                f"generate writes session-store documents; schema {schema.name!r} has no "
                "`instances` and `chat_history` lists"
            )
        self.session_types = _choices(root, "type")
        self.session_statuses = _choices(root, "status")
        self.instance_statuses = _choices(children["instances"], "status")
        self.roles = _choices(children["chat_history"], "role")
        self.hashes: set[str] = set()
        lines = []
        size = 0
        while size < _CORPUS_CHARS:
            line = rng.choice(_LOG_LINES).format(n=rng.randint(1, 9999))
            lines.append(line)
            size += len(line) + 1
        self.corpus = "\n".join(lines)

    def workspace_hash(self) -> str:
        while True:
            name = f"{self.rng.getrandbits(64):016x}"
            if name not in self.hashes:
                self.hashes.add(name)
                return name

    def text(self, length: int) -> str:
        start = self.rng.randrange(0, len(self.corpus) - length)
        return self.corpus[start : start + length]

    def output(self) -> str | None:
        roll = self.rng.random()
        if roll < 0.1:
            return None
        if roll < 0.103:
            return self.text(self.rng.randint(32_000, 256_000))
        return self.text(self.rng.randint(200, 3_000))

    def session(self) -> dict[str, Any]:
        rng = self.rng
        sid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        created = _EPOCH + rng.randrange(0, 300 * 86_400)
        status = rng.choice(self.session_statuses)
        done = status in ("completed", "failed")
        updated = created + rng.randrange(60, 7_200)
        instances = [self.instance(sid, n, created) for n in range(1, rng.randint(1, 10) + 1)]
        doc: dict[str, Any] = {
            "id": sid,
            "type": rng.choice(self.session_types),
            "task": f"{rng.choice(_WORDS)} ({rng.randint(1, 999)})",
            "status": status,
            "created_at": _iso(created),
            "updated_at": _iso(updated),
            "completed_at": _iso(updated) if done else None,
            "instances": instances,
            "chat_history": self.messages(sid, created, len(instances)),
        }
        optional: dict[str, Callable[[], Any]] = {
            "model": lambda: rng.choice(_MODELS),
            "timeout_seconds": lambda: rng.choice((300, 600, 1800, 3600)),
            "preserve_worktrees": lambda: rng.random() < 0.5,
            "winner_id": lambda: rng.randint(1, len(instances)) if done else None,
            "runtime_mix": lambda: sorted({rng.choice(_AGENTS) for _ in range(3)}),
            "total_duration": lambda: updated - created,
            "total_files_changed": lambda: sum(i.get("files_changed") or 0 for i in instances),
            "total_lines_added": lambda: rng.randint(0, 20_000),
            "total_lines_deleted": lambda: rng.randint(0, 8_000),
        }
        _fill_optional(rng, doc, optional)
        if rng.random() < 0.02:
            doc["labels"] = {"priority": rng.choice(("low", "high")), "imported_from": "v0"}
        return doc

    def instance(self, sid: str, number: int, created: int) -> dict[str, Any]:
        rng = self.rng
        agent = rng.choice(_AGENTS)
        start = created + rng.randrange(0, 120)
        item: dict[str, Any] = {
            "instance_id": number,
            "worktree_path": f"/home/dev/.worktrees/{sid[:8]}/{agent}-{number}",
            "branch": f"ait42/{sid[:8]}-{agent}-{number}",
            "agent_name": agent,
            "status": rng.choice(self.instance_statuses),
            "tmux_session_id": f"ait42-{sid[:8]}-{number}",
        }
        optional: dict[str, Callable[[], Any]] = {
            "output": self.output,
            "start_time": lambda: _iso(start),
            "end_time": lambda: _iso(start + rng.randrange(30, 5_000)),
            "files_changed": lambda: rng.randint(0, 60),
            "lines_added": lambda: rng.randint(0, 4_000),
            "lines_deleted": lambda: rng.randint(0, 1_500),
            "runtime": lambda: agent,
            "model": lambda: rng.choice(_MODELS),
            "runtime_label": lambda: f"{agent} ({rng.choice(_MODELS)})",
        }
        _fill_optional(rng, item, optional)
        return item

    def messages(self, sid: str, created: int, instances: int) -> list[dict[str, Any]]:
        rng = self.rng
        messages = []
        for k in range(rng.randint(6, 18)):
            message: dict[str, Any] = {
                "id": f"{sid}-m{k}",
                "role": self.roles[k % len(self.roles)] if k else self.roles[0],
                "content": self.text(rng.randint(20, 400)),
                "timestamp": _iso(created + 30 * k),
            }
            roll = rng.random()
            if roll < 0.6:
                message["instance_id"] = rng.randint(1, instances)
            elif roll < 0.8:
                message["instance_id"] = None
            messages.append(message)
        return messages


def _fill_optional(
    rng: random.Random, target: dict[str, Any], makers: dict[str, Callable[[], Any]]
) -> None:
    """Each optional key: usually a value, sometimes null, sometimes absent."""
    for key, make in makers.items():
        roll = rng.random()
        if roll < 0.8:
            target[key] = make()
        elif roll < 0.9:
            target[key] = None


def _choices(mapping: TableMapping, key: str) -> tuple[str, ...]:
    for f in mapping.fields:
        if f.key == key and f.choices:
            return f.choices
    raise UsageError(f"generate needs a fixed set of values for {mapping.name}.{key}")


def _iso(epoch_seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_seconds))
