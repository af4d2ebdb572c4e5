"""How the command line writes numbers, sizes, times and counted nouns: one way each
(`1 document`, `2 documents`; `2026-12-06 04:18:21`; `662.5 KB`). No Rich: cheap to import."""

from __future__ import annotations


def plural(n: int, noun: str, many: str | None = None) -> str:
    """`1 document`, `2,000 documents` (`many` for an irregular plural)."""
    return f"{n:,} {noun if n == 1 else (many or noun + 's')}"


def size_text(n: int) -> str:
    """A byte count for people: `662.5 KB`."""
    if n < 1024:
        return f"{n} B"
    size = n / 1024
    for unit in ("KB", "MB"):
        if size < 1024:
            return f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def counts_text(counts: dict[str, int]) -> str:
    """`json=30, matched=27, mismatched=2`: the counts that are not zero, each one word so a
    narrow column wraps between counts, never inside one."""
    return ", ".join(f"{k}={v}" for k, v in counts.items() if v) or "-"


def moment(timestamp: str) -> str:
    """The one way a recorded ISO 8601 time is shown: `2026-12-06 04:18:21` (UTC)."""
    return timestamp[:19].replace("T", " ")
