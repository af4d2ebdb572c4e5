"""`migrator query` through a real subprocess, and the text form of criteria."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from migrator.adapters.json_store import JsonStore
from migrator.errors import QueryError
from migrator.query_args import parse_criteria
from migrator.schemas.sessions import SESSIONS
from tests.schemas.samples import instance, session

REPO = Path(__file__).resolve().parents[2]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "80"}
    return subprocess.run(
        [sys.executable, "-m", "migrator", "query", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


@pytest.fixture
def store_args(tmp_path: Path) -> list[str]:
    docs = [
        session(f"s{n}", status=("failed", "running")[n % 2], created_at=f"2025-01-0{n + 1}")
        for n in range(5)
    ]
    docs[3]["instances"] = [instance(1, status="failed")]
    JsonStore(tmp_path / "json", SESSIONS).write_partition("w", docs)
    return ["--json-dir", str(tmp_path / "json"), "--db", str(tmp_path / "app.db")]


def test_table_of_the_issue_example(store_args: list[str]) -> None:
    """The issue's example: failed sessions since a date, newest first, as an 80-column table."""
    done = run(
        *store_args,
        "--where",
        "status=failed",
        "--where",
        "created_at>=2025-01-02",
        "--order",
        "-created_at",
        "--limit",
        "20",
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split()[:3] == ["id", "status", "created_at"]
    assert [line.split()[0] for line in lines[2:]] == ["s4", "s2"]
    assert all(len(line) <= 80 for line in lines)
    assert done.stderr == ""


def test_json_lines_and_the_next_page(store_args: list[str]) -> None:
    """jsonl prints one summary a line; the cursor on stderr continues the query."""
    first = run(*store_args, "--order", "created_at", "--limit", "2", "--format", "jsonl")
    assert first.returncode == 0, first.stderr
    assert [json.loads(line)["id"] for line in first.stdout.splitlines()] == ["s0", "s1"]
    assert "instances" not in json.loads(first.stdout.splitlines()[0])
    cursor = first.stderr.split("--after ", 1)[1].strip()
    second = run(*store_args, "--order", "created_at", "--limit", "2", "--after", cursor)
    assert [line.split()[0] for line in second.stdout.splitlines()[2:]] == ["s2", "s3"]


def test_has_and_json_format(store_args: list[str]) -> None:
    """--has asks the child lists; --format json is one object with the cursor."""
    done = run(
        *store_args, "--has", "instances.status=failed", "--returning", "ids", "--format", "json"
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"items": ["s3"], "cursor": None}


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--where", "colour=red"], "colour"),
        (["--where", "total_duration>=soon"], "total_duration"),
        (["--where", "runtime_mix=x"], "runtime_mix"),
        (["--has", "workers.status=failed"], "workers"),
        (["--order", "-colour"], "colour"),
        (["--after", "garbage"], "after"),
    ],
)
def test_bad_criteria_are_one_line_and_exit_2(
    store_args: list[str], args: list[str], field: str
) -> None:
    """A mistake is one line on stderr naming the field, exit 2, never a traceback."""
    done = run(*store_args, *args)
    assert done.returncode == 2
    assert done.stderr.startswith(f"error: query field {field}: ")
    assert len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        (["status=failed"], {"status__eq": "failed"}),
        (["created_at>=2025-01-01"], {"created_at__gte": "2025-01-01"}),
        (["total_duration<10"], {"total_duration__lt": 10}),
        (["total_duration>1.5"], {"total_duration__gt": 1.5}),
        (["model!=x"], {"model__ne": "x"}),
        (["type__in=debate,ensemble"], {"type__in": ["debate", "ensemble"]}),
        (
            ["model__absent=true", "winner_id__null=no"],
            {"model__absent": True, "winner_id__null": False},
        ),
        (["preserve_worktrees=false"], {"preserve_worktrees__eq": False}),
        (["task=a=b"], {"task__eq": "a=b"}),
    ],
)
def test_text_criteria(texts: list[str], expected: dict[str, Any]) -> None:
    """Each text form becomes the typed criterion `find` takes."""
    assert parse_criteria(SESSIONS, texts) == (expected, {})


def test_text_has_groups_by_list() -> None:
    _where, has = parse_criteria(
        SESSIONS, [], ["instances.status=failed", "instances.lines_added>3"]
    )
    assert has == {"instances": {"status__eq": "failed", "lines_added__gt": 3}}


@pytest.mark.parametrize("text", ["status", "status__in>=x", "preserve_worktrees=maybe"])
def test_bad_text_criteria(text: str) -> None:
    with pytest.raises(QueryError):
        parse_criteria(SESSIONS, [text])
