"""`make bench` on a machine without PostgreSQL: the PostgreSQL figures are skipped with a line
saying why (bench/pg_bench.py), and every other figure is still measured."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import pg_bench  # bench/, not a package
import run  # bench/run.py: its helpers and its NOTES

from tests import pg_server


def test_no_server_means_a_note_saying_why_and_no_figure(monkeypatch: pytest.MonkeyPatch) -> None:
    """A server that cannot be started adds no figure and one note naming the reason."""

    def unavailable() -> pg_server.PgServer:
        raise pg_server.PgUnavailable("no initdb/pg_ctl/postgres on PATH")

    monkeypatch.setattr(pg_server.PgServer, "start_new", unavailable)
    monkeypatch.setattr(run, "NOTES", [])
    figures: list[run.Figure] = []
    pg_bench.bench_postgres(run, "10k", 1, figures)
    assert figures == []
    assert run.NOTES == [
        "PostgreSQL figures not measured: no server could be started "
        "(no initdb/pg_ctl/postgres on PATH)."
    ]
