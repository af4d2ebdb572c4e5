"""The picture: every request's latency over time, by operation, with the phase moves, the
operator's steps and the killed worker marked (matplotlib, Agg: no display needed)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from examples.rehearsal.load import Request

COLORS = {
    "get": "tab:blue",
    "update": "tab:orange",
    "list": "tab:green",
    "create": "tab:purple",
    "delete": "tab:brown",
}


def draw(requests: Sequence[Request], summary: dict[str, Any], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(11, 5), dpi=90)
    for op in sorted({r.op for r in requests}):
        done = [r for r in requests if r.op == op and r.status]
        ax.scatter(
            [r.start for r in done],
            [max(r.latency_ms, 0.1) for r in done],
            s=3,
            alpha=0.45,
            color=COLORS.get(op),
            label=op,
            linewidths=0,
        )
    failed = [r for r in requests if r.problem]
    if failed:
        ax.scatter(
            [r.start for r in failed],
            [max(r.latency_ms, 0.1) for r in failed],
            s=30,
            marker="x",
            color="red",
            label="failed",
        )
    ax.set_yscale("log")
    top = ax.get_ylim()[1]
    for event in summary["events"]:
        if event["kind"] == "step" and event["started"] is not None:
            ax.axvspan(event["started"], event["at"], color="grey", alpha=0.12, lw=0)
        if event["kind"] == "move":
            ax.axvline(event["at"], color="black", lw=1)
            ax.text(
                event["at"], top, f" {event['label']}", rotation=90, va="top", ha="left", fontsize=8
            )
        if event["kind"] == "kill":
            ax.axvline(event["at"], color="red", lw=1, ls="--")
            ax.text(
                event["at"],
                top,
                " SIGKILL",
                rotation=90,
                va="top",
                ha="right",
                fontsize=8,
                color="red",
            )
    ax.set_xlabel("seconds since the start (grey: an operator command running)")
    ax.set_ylabel("latency, ms (log)")
    ax.set_title(
        f"{summary['settings']['clients']} clients, {summary['settings']['workers']} workers, "
        f"{summary['settings']['database']}: {summary['requests']} requests, "
        f"lost {summary['lost']}, stale {summary['stale']}"
    )
    ax.legend(loc="lower right", fontsize=8, markerscale=3)
    ax.grid(True, which="major", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
