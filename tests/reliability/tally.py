"""What the reliability suite tried, counted across the session and printed as one line at the
end (`pytest_terminal_summary` in this package's conftest): the figures the issue asks for."""

from __future__ import annotations

from collections import Counter

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
