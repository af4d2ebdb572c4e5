"""The full-text search figures of `make bench`: search through the index beside the JSON
scan, for a word held by about 1% of chat messages, and what the index costs the import."""

from __future__ import annotations

import shutil
import statistics
from typing import Any

#: The design doc's figure for full-text search (FTS5), beside ours.
DESIGN_SECONDS = 0.005


def bench_search(run: Any, scale: str, reps: int, figures: list[Any]) -> None:
    """`run` is bench/run.py (its helpers), passed in to keep one copy of them."""
    json_dir = run.store(scale)
    work = run.DATA / scale / "search"
    work.mkdir(parents=True, exist_ok=True)
    db = work / "ours.db"
    shutil.rmtree(json_dir / ".migrator", ignore_errors=True)
    run.task("import_ours", str(json_dir), run.fresh(db))
    picked = run.task("pick_word", str(json_dir)).detail
    word, share = picked["word"], picked["share"]
    run.log(f"{scale}: full-text search for {word!r} ({share:.2%} of messages) vs JSON scan")
    ours, scan = run.pairs(
        reps,
        ("search_sql", str(json_dir), str(db), word),
        ("search_json", str(json_dir), str(db), word, "1" if scale == "100k" else "3"),
    )
    median = statistics.median(r.seconds for r in ours)
    figures.append(
        run.measured(
            f"full-text search (word in {share:.1%} of messages, 20 hits) vs JSON scan",
            scale,
            ours,
            scan,
            kind="speedup",
            threshold=20.0,
            notes=f"{median * 1000:.2f} ms here, design doc: {DESIGN_SECONDS * 1000:g} ms",
        )
    )
    run.log(f"{scale}: import with the full-text index vs without")
    bare = work / "bare.db"
    with_index, without = run.pairs(
        reps,
        ("import_ours", str(json_dir), str(db)),
        ("import_without_index", str(json_dir), str(bare)),
        prepare=lambda: (
            run.fresh(db),
            run.fresh(bare),
            shutil.rmtree(json_dir / ".migrator", ignore_errors=True),
        ),
    )
    figures.append(
        run.measured(
            "import with the full-text index vs without",
            scale,
            with_index,
            without,
            kind="ratio",
            threshold=None,
            notes="what keeping the index in the import's transaction costs",
        )
    )
