"""The picture: every request's latency over time, by operation, on the phase windows, with the
p50/p95 of each 2-second bin, the operator's commands (bars at the bottom), the killed worker
and any failed request marked (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from examples.rehearsal.load import Request
from examples.rehearsal.report import expected, percentile

COLORS = {
    "get": "tab:blue",
    "update": "tab:orange",
    "list": "tab:green",
    "create": "tab:purple",
    "delete": "tab:brown",
    "query": "tab:cyan",
    "summaries": "tab:olive",
    "search": "tab:red",
}
PHASE_COLORS = {
    "json-only": "#fff4d6",
    "dual-write": "#dcecff",
    "sqlite-primary": "#dff5df",
    "sqlite-only": "#efe3fa",
}
BIN_SECONDS = 2.0


def draw(requests: Sequence[Request], summary: dict[str, Any], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(11, 5), dpi=90)
    ax.set_yscale("log")
    answered = [r for r in requests if r.status]
    for op in sorted({r.op for r in answered}):
        done = [r for r in answered if r.op == op]
        ax.scatter(
            [r.start for r in done],
            [max(r.latency_ms, 0.1) for r in done],
            s=4,
            alpha=0.5,
            color=COLORS.get(op),
            label=op,
            linewidths=0,
        )
    _percentile_lines(ax, answered)
    kills = [e["at"] for e in summary["events"] if e["kind"] == "kill"]
    dropped = [r for r in requests if r.problem and expected(r, kills)]
    failed = [r for r in requests if r.problem and not expected(r, kills)]
    for reqs, color, label in (
        (dropped, "black", "dropped by the kill"),
        (failed, "red", "failed"),
    ):
        if reqs:
            ax.scatter(
                [r.start for r in reqs],
                [max(r.latency_ms, 0.1) for r in reqs],
                s=40,
                marker="x",
                color=color,
                label=label,
            )
    _phases(ax, summary)
    _operator(ax, summary)
    s = summary["settings"]
    ax.set_title(
        f"{s['clients']} clients, {s['workers']} workers, {s['database']}: "
        f"{summary['requests']} requests, lost {summary['lost']}, stale {summary['stale']}, "
        f"unexpected errors {summary['unexpected_errors']}",
        fontsize=10,
    )
    ax.set_xlabel("seconds since the start (bars at the bottom: an operator command running)")
    ax.set_ylabel("latency, ms (log scale)")
    entries = len(ax.get_legend_handles_labels()[1])
    fig.legend(loc="lower center", fontsize=8, markerscale=2.5, ncols=entries, frameon=False)
    ax.grid(True, which="major", alpha=0.3)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    fig.savefig(path)
    plt.close(fig)
    _shrink(path)
    return path


def _shrink(path: Path) -> None:
    """A 128-colour palette: a third of the bytes, small enough to commit beside the docs."""
    from PIL import Image  # matplotlib's own dependency

    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)


def _percentile_lines(ax: Any, answered: Sequence[Request]) -> None:
    bins: dict[int, list[float]] = defaultdict(list)
    for r in answered:
        bins[int(r.start // BIN_SECONDS)].append(r.latency_ms)
    keys = sorted(bins)
    xs = [(k + 0.5) * BIN_SECONDS for k in keys]
    for q, style in ((50, "-"), (95, "--")):
        ys = [max(percentile(bins[k], q), 0.1) for k in keys]
        ax.plot(xs, ys, style, color="black", lw=1.1, label=f"p{q} ({BIN_SECONDS:g} s bins)")


def _phases(ax: Any, summary: dict[str, Any]) -> None:
    """Each phase window as a coloured band named at its top."""
    end = summary["load_seconds"]
    windows = summary["windows"]
    for i, window in enumerate(windows):
        start = window["start_s"]
        stop = windows[i + 1]["start_s"] if i + 1 < len(windows) else end
        ax.axvspan(start, stop, color=PHASE_COLORS.get(window["phase"], "white"), zorder=0)
        ax.text(
            (start + stop) / 2,
            0.985,
            window["phase"],
            transform=ax.get_xaxis_transform(),
            ha="center",
            va="top",
            fontsize=8,
            fontweight="bold",
        )
    ax.set_xlim(0, end)


def _operator(ax: Any, summary: dict[str, Any]) -> None:
    """Operator commands as bars along the bottom; the kill as a red line."""
    transform = ax.get_xaxis_transform()
    for event in summary["events"]:
        if event["kind"] == "step" and event["started"] is not None:
            color = "dimgrey" if event["ok"] else "red"
            ax.plot(
                [event["started"], event["at"]],
                [0.02, 0.02],
                transform=transform,
                color=color,
                lw=5,
                solid_capstyle="butt",
            )
        if event["kind"] == "kill":
            ax.axvline(event["at"], color="red", lw=1.2, ls=":")
            ax.text(
                event["at"],
                0.05,
                " SIGKILL a worker",
                transform=transform,
                color="red",
                fontsize=8,
                ha="left",
            )
