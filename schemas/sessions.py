"""The reference schema: the session store of `session-store-migration-design.md`.

One JSON file per workspace hash holds sessions; each session has a list of instances and a
chat history. The tables, CHECK constraints, foreign keys (ON DELETE CASCADE) and indexes are
those of the design's "Design SQLite schema", plus what a lossless mapping needs: each mapped
table has a `position` (list order) and an `extra` column (see `migrator.schemas.codec`).

The indexes are also what `find` uses (docs/querying.md): besides the design's, composite ones
for its documented query shapes (a status or type, newest first; a session's instances by
status; a session's messages by time). Text columns that queries sort or range over are indexed
in code point order on PostgreSQL (`COLLATE "C"`, the order the JSON scan uses); SQLite's
default BINARY order already is. A database created before an index was declared gets it from
`init_schema` (CREATE INDEX IF NOT EXISTS).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from migrator.schemas.declaration import (
    ChildList,
    DocumentRow,
    Schema,
    choices_field,
    code_point_index,
    integer_field,
    json_field,
    parent_key,
)

SESSION_TYPES = ("competition", "ensemble", "debate")
SESSION_STATUSES = ("running", "completed", "failed", "paused")
INSTANCE_STATUSES = ("idle", "running", "completed", "failed", "paused", "archived")
ROLES = ("user", "assistant", "system")


class Workspace(SQLModel, table=True):
    """One row per partition: the workspace hash and, when known, its path."""

    __tablename__ = "workspaces"

    hash: str = Field(primary_key=True)
    path: str = Field(unique=True)
    last_accessed: str


class SessionRow(DocumentRow, table=True):
    __tablename__ = "sessions"
    __table_args__ = (
        Index("idx_sessions_status", "status"),
        code_point_index("idx_sessions_status_created", "status", "created_at"),
        Index("idx_sessions_type", "session_type"),
        code_point_index("idx_sessions_type_created", "session_type", "created_at"),
        Index("idx_sessions_workspace", "workspace_hash"),
        code_point_index("idx_sessions_created", "created_at"),
    )

    id: str = Field(primary_key=True)
    workspace_hash: str = parent_key("workspaces.hash")
    session_type: str = choices_field(*SESSION_TYPES)
    task: str = Field(sa_type=Text)
    status: str = choices_field(*SESSION_STATUSES)
    created_at: str
    updated_at: str
    completed_at: str | None = None
    model: str | None = None
    timeout_seconds: int | None = integer_field()
    preserve_worktrees: bool | None = None
    winner_id: int | None = integer_field()
    runtime_mix: Any = json_field()
    total_duration: int | None = integer_field()
    total_files_changed: int | None = integer_field()
    total_lines_added: int | None = integer_field()
    total_lines_deleted: int | None = integer_field()


class InstanceRow(DocumentRow, table=True):
    __tablename__ = "instances"
    __table_args__ = (
        UniqueConstraint("session_id", "instance_id"),
        Index("idx_instances_session", "session_id"),
        Index("idx_instances_status", "status"),
        Index("idx_instances_session_status", "session_id", "status"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    session_id: str = parent_key("sessions.id")
    instance_id: int = integer_field(nullable=False)
    worktree_path: str
    branch: str
    agent_name: str
    status: str = choices_field(*INSTANCE_STATUSES)
    tmux_session_id: str
    output: str | None = Field(default=None, sa_type=Text)
    start_time: str | None = None
    end_time: str | None = None
    files_changed: int | None = integer_field()
    lines_added: int | None = integer_field()
    lines_deleted: int | None = integer_field()
    runtime: str | None = None
    model: str | None = None
    runtime_label: str | None = None


class ChatMessageRow(DocumentRow, table=True):
    __tablename__ = "chat_messages"
    __table_args__ = (
        Index("idx_messages_session", "session_id"),
        code_point_index("idx_messages_timestamp", "timestamp"),
        code_point_index("idx_messages_session_time", "session_id", "timestamp"),
    )

    id: str = Field(primary_key=True)
    session_id: str = parent_key("sessions.id")
    role: str = choices_field(*ROLES)
    content: str = Field(sa_type=Text)
    timestamp: str
    instance_id: int | None = integer_field()


def _workspace_row(partition: str) -> dict[str, Any]:
    """The legacy store knows only the hash of a workspace, so the hash stands in for its path."""
    return {
        "hash": partition,
        "path": partition,
        "last_accessed": datetime.now(UTC).isoformat(timespec="seconds"),
    }


SESSION_KEY_ORDER = (
    "id",
    "type",
    "task",
    "status",
    "created_at",
    "updated_at",
    "completed_at",
    "instances",
    "chat_history",
    "model",
    "timeout_seconds",
    "preserve_worktrees",
    "winner_id",
    "runtime_mix",
    "total_duration",
    "total_files_changed",
    "total_lines_added",
    "total_lines_deleted",
)

SESSIONS = Schema(
    name="sessions",
    version=1,
    root=SessionRow,
    partition_column="workspace_hash",
    id_key="id",
    renames={"type": "session_type"},
    children=(
        ChildList(
            key="instances", model=InstanceRow, parent_column="session_id", surrogate_key="id"
        ),
        ChildList(key="chat_history", model=ChatMessageRow, parent_column="session_id"),
    ),
    version_key="updated_at",
    key_order=SESSION_KEY_ORDER,
    partition_model=Workspace,
    partition_row=_workspace_row,
    # Its revisions (`migrator db`): 0001 creates the tables above; a change to them needs one.
    migrations=Path(__file__).with_name("sessions_revisions"),
    searchable=("task", "chat_history.content", "instances.output"),
)
