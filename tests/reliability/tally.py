"""What the reliability suite tried, counted across the session and printed as one line at the
end: the figures the issue asks for. A pytest plugin (tests/conftest.py registers it): under
pytest-xdist each worker counts its own tests and hands its counts to the controller, which
adds them up and prints the line."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

#: kill points survived (by harness: import, dual-write, repair), faults injected, hostile
#: inputs tried, documents lost (any loss also fails its test).
counts: Counter[str] = Counter()


def kill_survived(kind: str) -> None:
    counts[f"kill:{kind}"] += 1


def fault_injected(n: int = 1) -> None:
    counts["faults"] += n


def hostile_tried(n: int = 1) -> None:
    counts["hostile"] += n


def documents_lost(n: int) -> None:
    counts["lost"] += n


def summary_line() -> str:
    kills = {k.split(":", 1)[1]: v for k, v in sorted(counts.items()) if k.startswith("kill:")}
    detail = ", ".join(f"{kind} {n}" for kind, n in kills.items())
    return (
        f"reliability: kill points survived {sum(kills.values())}"
        + (f" ({detail})" if detail else "")
        + f", faults injected {counts['faults']}, hostile inputs tried {counts['hostile']}"
        + f", documents lost {counts['lost']}"
    )


_WORKER_KEY = "reliability_tally"


def pytest_sessionfinish(session: pytest.Session) -> None:
    """In an xdist worker: send this worker's counts to the controller."""
    output: dict[str, Any] | None = getattr(session.config, "workeroutput", None)
    if output is not None:
        output[_WORKER_KEY] = dict(counts)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """In the xdist controller: add up a finished worker's counts."""
    counts.update(getattr(node, "workeroutput", {}).get(_WORKER_KEY, {}))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if any(counts.values()):
        terminalreporter.write_line(summary_line())
