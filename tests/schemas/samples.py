"""Small valid documents of the reference schema, built in the schema's usual key order."""

from __future__ import annotations

from typing import Any


def instance(instance_id: int = 1, **changes: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "instance_id": instance_id,
        "worktree_path": f"/wt/{instance_id}",
        "branch": f"feature/{instance_id}",
        "agent_name": "claude",
        "status": "running",
        "tmux_session_id": f"tmux-{instance_id}",
        "output": None,
        "start_time": "2025-01-13T10:00:00Z",
        "end_time": None,
        "files_changed": 1,
        "lines_added": 2,
        "lines_deleted": 3,
        "runtime": "claude",
        "model": "sonnet",
        "runtime_label": None,
    }
    return _changed(item, changes)


def message(message_id: str, **changes: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": message_id,
        "role": "user",
        "content": "hello",
        "timestamp": "2025-01-13T10:00:00Z",
        "instance_id": None,
    }
    return _changed(item, changes)


def session(session_id: str = "s1", **changes: Any) -> dict[str, Any]:
    """A session with every known key; `changes` replace or add keys (`...` removes one)."""
    doc: dict[str, Any] = {
        "id": session_id,
        "type": "competition",
        "task": "refactor the store",
        "status": "running",
        "created_at": "2025-01-13T10:00:00Z",
        "updated_at": "2025-01-13T11:00:00Z",
        "completed_at": None,
        "instances": [instance(1), instance(2)],
        "chat_history": [
            message(f"{session_id}-m0"),
            message(f"{session_id}-m1", role="assistant"),
        ],
        "model": "sonnet",
        "timeout_seconds": 600,
        "preserve_worktrees": True,
        "winner_id": None,
        "runtime_mix": ["claude", "codex"],
        "total_duration": 1234,
        "total_files_changed": 3,
        "total_lines_added": 10,
        "total_lines_deleted": 2,
    }
    return _changed(doc, changes)


def _changed(doc: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    for key, value in changes.items():
        if value is ...:
            doc.pop(key, None)
        else:
            doc[key] = value
    return doc
