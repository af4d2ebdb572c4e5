"""The figures: requests, errors and latency percentiles per phase window and operation, the
verdicts of the final stores, the operator's steps; as printed lines and a JSON summary."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from examples.rehearsal.ledger import Verdict
from examples.rehearsal.load import Request
from examples.rehearsal.timeline import Timeline

#: A request without an answer is expected when the killed worker held it: it was in flight
#: at the kill, or sent on a connection to that worker in the instant before the kernel
#: reported it closed.
KILL_GRACE_SECONDS = 0.5


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by the nearest-rank method; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def expected(req: Request, kills: Iterable[float]) -> bool:
    """Whether a failed request is the kill's doing: no answer, in flight at a kill."""
    return req.status == 0 and any(
        req.start <= at + KILL_GRACE_SECONDS and req.end >= at for at in kills
    )


@dataclass(frozen=True)
class Stats:
    count: int
    errors: int
    expected_errors: int
    p50: float
    p95: float
    p99: float

    @classmethod
    def of(cls, requests: Sequence[Request], kills: Sequence[float]) -> Stats:
        latencies = [r.latency_ms for r in requests if r.status]
        failed = [r for r in requests if r.problem]
        killed = sum(expected(r, kills) for r in failed)
        return cls(
            len(requests),
            len(failed) - killed,
            killed,
            percentile(latencies, 50),
            percentile(latencies, 95),
            percentile(latencies, 99),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "requests": self.count,
            "unexpected_errors": self.errors,
            "expected_errors": self.expected_errors,
            "p50_ms": round(self.p50, 1),
            "p95_ms": round(self.p95, 1),
            "p99_ms": round(self.p99, 1),
        }


def summarize(
    requests: Sequence[Request],
    timeline: Timeline,
    verdicts: Sequence[Verdict],
    *,
    operator_failed: str | None,
    final_validation: dict[str, Any],
    settings: dict[str, Any],
) -> dict[str, Any]:
    """The JSON summary: what CI reads, and what the printed lines and the chart come from."""
    kills = timeline.kills()
    by_window: dict[int, list[Request]] = defaultdict(list)
    for req in requests:
        by_window[req.window].append(req)
    ends = [start for _, start in timeline.windows[1:]] + [timeline.end]
    windows = []
    for index, (phase, start) in enumerate(timeline.windows):
        reqs = by_window.get(index, [])
        per_op: dict[str, list[Request]] = defaultdict(list)
        for req in reqs:
            per_op[req.op].append(req)
        windows.append(
            {
                "index": index,
                "phase": phase,
                "start_s": round(start, 2),
                "seconds": round(ends[index] - start, 2),
                "all": Stats.of(reqs, kills).to_dict(),
                "operations": {
                    op: Stats.of(r, kills).to_dict() for op, r in sorted(per_op.items())
                },
            }
        )
    problems = [r for r in requests if r.problem and not expected(r, kills)]
    total = Stats.of(requests, kills)
    ok = (
        operator_failed is None
        and not problems
        and all(v.ok for v in verdicts)
        and final_validation.get("ok", False)
    )
    return {
        "ok": ok,
        "settings": settings,
        "requests": total.count,
        "seconds": round(timeline.now(), 2),
        "load_seconds": round(timeline.end, 2),
        "unexpected_errors": len(problems),
        "expected_errors": total.expected_errors,
        "error_examples": [
            {"op": r.op, "at_s": round(r.start, 2), "status": r.status, "problem": r.problem}
            for r in problems[:20]
        ],
        "lost": sum(len(v.lost) for v in verdicts),
        "stale": sum(len(v.stale) + len(v.resurrected) for v in verdicts),
        "stores": [v.to_dict() for v in verdicts],
        "final_validation": final_validation,
        "operator_failed": operator_failed,
        "windows": windows,
        "events": [e.to_dict() for e in timeline.events],
    }


def window_line(window: dict[str, Any]) -> str:
    """One printed line per phase window."""
    stats = window["all"]
    rate = stats["requests"] / window["seconds"] if window["seconds"] else 0.0
    return (
        f"{window['index']} {window['phase']:<15}{window['seconds']:6.1f} s "
        f"{stats['requests']:6d} req ({rate:5.1f}/s)  p50 {stats['p50_ms']:6.1f} ms  "
        f"p95 {stats['p95_ms']:6.1f} ms  p99 {stats['p99_ms']:7.1f} ms  "
        f"errors {stats['unexpected_errors']} (+{stats['expected_errors']} at the kill)"
    )


def closing_lines(summary: dict[str, Any]) -> list[str]:
    lines = [
        f"requests {summary['requests']} in {summary['load_seconds']} s; unexpected errors "
        f"{summary['unexpected_errors']}, expected (killed worker) {summary['expected_errors']}",
    ]
    for store in summary["stores"]:
        lines.append(
            f"{store['store']}: {store['checked']} documents checked, lost {store['lost']}, "
            f"stale {store['stale']}, resurrected {store['resurrected']}, "
            f"unknown {store['unknown']}; unanswered writes applied "
            f"{store['unconfirmed_applied']}, not applied {store['unconfirmed_not_applied']}"
        )
    final = summary["final_validation"]
    lines.append(f"final validation: {final.get('verdict', '?')}")
    if summary["operator_failed"]:
        lines.append(f"operator script stopped: {summary['operator_failed']}")
    for example in summary["error_examples"][:5]:
        lines.append(f"  error at {example['at_s']} s, {example['op']}: {example['problem']}")
    lines.append("REHEARSAL " + ("PASSED" if summary["ok"] else "FAILED"))
    return lines
