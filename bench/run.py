"""`make bench [SCALE=100k]`: every performance figure beside its baseline, measured in one run.

Stores are generated with `migrator generate` (seed 1) at 1k and 10k sessions, and 100k with
`--scale 100k`, cached under bench/data/. Each figure runs ours and its baseline in turn
(A B A B ...), each run its own process (`bench/tasks.py`), and reports medians, min/max and the
median of the pairwise ratios, so a drift of the machine's speed hits both sides alike. Peak
memory is the kernel's maximum resident set of the task's process. Results go to
bench/RESULTS.md and bench/results.json. Timings never fail anything.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import peak_rss  # bench/, this script's directory

HERE = Path(__file__).resolve().parent

DATA = HERE / "data"
SCALES = {"1k": 1_000, "10k": 10_000, "100k": 100_000}
#: Said under the table: figures that could not be measured, and why.
NOTES: list[str] = []


@dataclass
class Run:
    seconds: float
    #: The kernel's peak RSS of the task's process (or of its largest child), MiB.
    rss_mb: float
    detail: dict[str, Any]
    #: The largest summed RSS of the task and the processes it started, MiB (bench/peak_rss.py).
    tree_rss_mb: float = 0.0


@dataclass
class Figure:
    name: str
    scale: str
    ours: list[float]
    baseline: list[float]
    target: str
    #: "ratio": ours/baseline seconds (at most the threshold); "speedup": baseline/ours
    #: seconds; "throughput": ours/baseline documents per second (both at least the threshold);
    #: "seconds": ours/baseline seconds shown, but the target is our median's own seconds.
    kind: str
    threshold: float | None
    unit: str = "s"
    notes: str = ""
    ratios: list[float] = field(default_factory=list)

    @property
    def value(self) -> float:
        return statistics.median(self.ratios)

    @property
    def met(self) -> bool | None:
        if self.threshold is None:
            return None
        if self.kind == "seconds":
            return statistics.median(self.ours) <= self.threshold
        if self.kind == "ratio":
            return self.value <= self.threshold
        return self.value >= self.threshold


def measured(
    name: str,
    scale: str,
    ours: list[Run],
    base: list[Run],
    *,
    kind: str,
    threshold: float | None,
    notes: str = "",
) -> Figure:
    """A figure from paired runs: values and pairwise ratios as `kind` reads them."""
    pairs_ = list(zip(ours, base, strict=True))
    if kind == "throughput":
        docs = ours[0].detail["documents"]
        values = ([docs / r.seconds for r in ours], [docs / r.seconds for r in base])
        unit = "docs/s"
    else:
        values = ([r.seconds for r in ours], [r.seconds for r in base])
        unit = "s"
    if kind in ("ratio", "seconds"):
        ratios = [a.seconds / b.seconds for a, b in pairs_]
    else:  # speedup and throughput: the baseline's seconds over ours
        ratios = [b.seconds / a.seconds for a, b in pairs_]
    if threshold is None:
        target = "(no target)"
    elif kind == "seconds":
        target = f"<= {threshold:g} s"
    elif kind == "ratio":
        target = f"<= {threshold:g}x"
    else:
        target = f">= {threshold:g}x" + (" faster" if kind == "speedup" else "")
    return Figure(name, scale, *values, target, kind, threshold, unit, notes, ratios)


def task(name: str, *args: str) -> Run:
    """Run one task in its own process; its seconds, and its peak RSS (bench/peak_rss.py)."""
    command = [sys.executable, str(HERE / "tasks.py"), name, *args]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    status, rss_mb, tree_rss_mb = peak_rss.watch(process.pid)
    out = process.stdout.read() if process.stdout else b""
    err = process.stderr.read() if process.stderr else b""
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"bench task {name} failed:\n{err.decode()[-2000:]}")
    detail = json.loads(out.decode().strip().splitlines()[-1])
    return Run(detail["seconds"], rss_mb, detail, tree_rss_mb)


def store(scale: str) -> Path:
    """The generated store for a scale (cached), and an imported database beside it."""
    json_dir = DATA / scale / "json"
    if not (DATA / scale / ".complete").exists():
        shutil.rmtree(DATA / scale, ignore_errors=True)
        log(f"generating {scale} sessions ...")
        subprocess.run(
            [
                sys.executable,
                "-m",
                "migrator",
                "generate",
                "--sessions",
                str(SCALES[scale]),
                "--out",
                str(json_dir),
                "--seed",
                "1",
                "--quiet",
            ],
            check=True,
        )
        (DATA / scale / ".complete").touch()
    return json_dir


def fresh(path: Path) -> str:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return str(path)


def on_cpu(runs: list[Run]) -> list[Run]:
    """`runs` timed by the CPU seconds their task reported instead of wall seconds."""
    return [Run(run.detail["cpu_seconds"], run.rss_mb, run.detail) for run in runs]


def pairs(
    reps: int, a: tuple[str, ...], b: tuple[str, ...], prepare: Any = None
) -> tuple[list[Run], list[Run]]:
    ours, base = [], []
    for _ in range(reps):
        if prepare:
            prepare()
        ours.append(task(*a))
        if prepare:
            prepare()
        base.append(task(*b))
    return ours, base


def import_pairs(
    reps: int, json_dir: Path, db: Path, base_db: Path, baseline: str = "import_executemany"
) -> tuple[list[Run], list[Run]]:
    """Our import and a baseline's, each into a fresh database and from a store with no state."""
    return pairs(
        reps,
        ("import_ours", str(json_dir), str(db)),
        (baseline, str(json_dir), str(base_db)),
        prepare=lambda: (
            fresh(db),
            fresh(base_db),
            shutil.rmtree(json_dir / ".migrator", ignore_errors=True),
        ),
    )


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def bench_scale(scale: str, reps: int, figures: list[Figure], memory: dict[str, Any]) -> None:
    json_dir = store(scale)
    work = DATA / scale / "work"
    work.mkdir(exist_ok=True)
    db, base_db = work / "ours.db", work / "baseline.db"

    log(f"{scale}: import vs sqlite3 executemany")
    ours, base = import_pairs(reps, json_dir, db, base_db)
    figures.append(
        measured(
            "import docs/s vs sqlite3 executemany (one transaction)",
            scale,
            ours,
            base,
            kind="throughput",
            threshold=0.5,
        )
    )
    memory[scale] = {
        "import_peak_rss_mb": max(r.rss_mb for r in ours),
        "import_tree_rss_mb": max(r.tree_rss_mb for r in ours),
    }

    # What a user would otherwise reach for; at 100k it would cost minutes of the budget and
    # say nothing the smaller stores do not.
    if SCALES[scale] <= 10_000:
        log(f"{scale}: import vs sqlite-utils insert")
        su_db = work / "sqlite_utils.db"
        ours_su, su = pairs(
            reps,
            ("import_ours", str(json_dir), str(db)),
            ("import_sqlite_utils", str(json_dir), str(su_db)),
            prepare=lambda: (
                fresh(db),
                fresh(su_db),
                shutil.rmtree(json_dir / ".migrator", ignore_errors=True),
            ),
        )
        figures.append(
            measured(
                "import docs/s vs sqlite-utils insert",
                scale,
                ours_su,
                su,
                kind="throughput",
                threshold=None,
                notes="sqlite-utils keeps nested lists as JSON text in one table, checks nothing",
            )
        )

    log(f"{scale}: re-import unchanged vs first import")
    firsts, again = [], []
    for _ in range(reps):
        fresh(db)
        shutil.rmtree(json_dir / ".migrator", ignore_errors=True)
        firsts.append(task("import_ours", str(json_dir), str(db)))
        again.append(task("import_ours", str(json_dir), str(db)))
    figures.append(
        measured(
            "re-import of an unchanged store vs first import",
            scale,
            again,
            firsts,
            kind="ratio",
            threshold=0.05,
        )
    )

    log(f"{scale}: validate with 0.1% changed")
    changed = work / "json-changed"
    task("copy_store", str(json_dir), str(changed))
    task("change_fraction", str(changed), str(db), "0.001")
    limit = "0" if SCALES[scale] <= 1_000 else "2000"
    ours_v, deep = pairs(
        reps,
        ("validate_ours", str(changed), str(db)),
        ("validate_deepdiff_all", str(changed), str(db), limit),
    )
    figures.append(
        measured(
            "validate (0.1% changed) vs DeepDiff on every pair",
            scale,
            ours_v,
            deep,
            kind="speedup",
            threshold=20.0,
            notes=""
            if limit == "0"
            else f"DeepDiff timed on the first {limit} pairs, scaled to all",
        )
    )
    _, reads = pairs(
        reps, ("validate_ours", str(changed), str(db)), ("read_both", str(changed), str(db))
    )
    figures.append(
        measured(
            "validate vs just reading both stores",
            scale,
            ours_v,
            reads,
            kind="ratio",
            threshold=1.5,
        )
    )
    memory[scale]["validate_peak_rss_mb"] = max(r.rss_mb for r in ours_v)
    memory[scale]["validate_tree_rss_mb"] = max(r.tree_rss_mb for r in ours_v)


def bench_phases(scale: str, reps: int, figures: list[Figure]) -> None:
    """put/list/get per phase, each phase on its own copy of the store."""
    json_dir = store(scale)
    work = DATA / scale / "phases"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    copies = {}
    for phase in ("json-only", "dual-write", "sqlite-primary", "sqlite-only"):
        target = work / phase
        task("copy_store", str(json_dir), str(target / "json"))
        task("import_ours", str(target / "json"), str(target / "db.sqlite"))
        copies[phase] = target
    log(f"{scale}: put / list / get per phase")
    base = copies["json-only"]
    for phase in ("dual-write", "sqlite-primary", "sqlite-only"):
        ours, json_only = pairs(
            reps,
            ("put_latency", str(copies[phase] / "json"), str(copies[phase] / "db.sqlite"), phase),
            ("put_latency", str(base / "json"), str(base / "db.sqlite"), "json-only"),
        )
        figures.append(
            measured(
                f"put in {phase} vs json-only (100-session partition)",
                scale,
                ours,
                json_only,
                kind="ratio",
                threshold=1.10 if phase == "dual-write" else None,
            )
        )
    primary = copies["sqlite-primary"]
    for what, threshold in (("list", 5.0), ("get", 20.0)):
        ours, json_only = pairs(
            reps,
            (
                "read_latency",
                str(primary / "json"),
                str(primary / "db.sqlite"),
                "sqlite-primary",
                what,
            ),
            ("read_latency", str(base / "json"), str(base / "db.sqlite"), "json-only", what),
        )
        label = "list(partition) of 100" if what == "list" else f"get(id) on {scale} sessions"
        figures.append(
            measured(
                f"{label}, sqlite-primary vs json-only",
                scale,
                ours,
                json_only,
                kind="speedup",
                threshold=threshold,
            )
        )


def bench_queries(scale: str, reps: int, figures: list[Figure]) -> None:
    """find / summaries / list from SQL beside the JSON-scan equivalent of the same call
    (docs/querying.md); the design doc's SQLite times are quoted beside each figure."""
    json_dir = store(scale)
    db = DATA / scale / "work" / "queries.db"
    db.parent.mkdir(parents=True, exist_ok=True)
    if not db.exists():
        log(f"{scale}: importing for the query figures")
        task("import_ours", str(json_dir), fresh(db))
        shutil.rmtree(json_dir / ".migrator", ignore_errors=True)
    shapes = (
        ("find_type", "find by an indexed field (type), newest first, 100 summaries", 50.0, "1 ms"),
        ("failed_instance", "sessions with a failed instance (join), 100 summaries", 20.0, "3 ms"),
    )
    for what, label, threshold, design in shapes:
        log(f"{scale}: {label}")
        ours, scan = pairs(
            reps,
            ("query_latency", str(json_dir), str(db), "sql", what, "20"),
            ("query_latency", str(json_dir), str(db), "json", what, "2"),
        )
        figures.append(
            measured(
                f"{label} vs the same find scanning JSON",
                scale,
                ours,
                scan,
                kind="speedup",
                threshold=threshold,
                notes=f"design doc: {design}",
            )
        )
    log(f"{scale}: summaries(partition) and list(partition)")
    for what, threshold in (("summaries", 20.0), ("list", 1.0)):
        ours, parse = pairs(
            reps,
            ("query_latency", str(json_dir), str(db), "sql", what, "30"),
            ("query_latency", str(json_dir), str(db), "json", "list", "30"),
        )
        figures.append(
            measured(
                f"{what}(partition) of 100 from SQL vs list(partition) from JSON (orjson parse)",
                scale,
                ours,
                parse,
                kind="speedup",
                threshold=threshold,
                notes="design doc: get all sessions (100) 2 ms",
            )
        )


def bench_reads(scale: str, reps: int, figures: list[Figure], json_dir: Path, db: Path) -> None:
    """The read hot path (issue 19: get, list; issue 17: summaries), each beside its floor or
    its JSON side: `--only reads` runs these alone on an imported copy."""
    log(f"{scale}: get(id) vs the stdlib floor and vs JSON with an id -> file index")
    ours, raw = pairs(
        reps, ("get_latency", str(json_dir), str(db), "ours"), ("get_latency", "-", str(db), "raw")
    )
    figures.append(
        measured(
            "get(id) vs stdlib sqlite3 (same rows, same dict)",
            scale,
            ours,
            raw,
            kind="ratio",
            threshold=2.0,
        )
    )
    ours, indexed = pairs(
        reps,
        ("get_latency", str(json_dir), str(db), "ours"),
        ("get_latency", str(json_dir), str(db), "json_index"),
    )
    figures.append(
        measured(
            "get(id) vs JSON with an id -> file index (read that one file)",
            scale,
            ours,
            indexed,
            kind="speedup",
            threshold=50.0,
        )
    )
    log(f"{scale}: list(partition) and summaries(partition) vs the JSON store's list")
    for what, threshold in (("list", 1.0), ("summaries", 20.0)):
        ours, parse = pairs(
            reps,
            ("query_latency", str(json_dir), str(db), "sql", what, "30"),
            ("query_latency", str(json_dir), str(db), "json", "list", "30"),
        )
        name = f"{what}(partition) of 100 from SQL vs JsonStore.list (orjson parse + checks)"
        figures.append(measured(name, scale, ours, parse, kind="speedup", threshold=threshold))
        figures.append(
            measured(
                f"{name}, CPU time",
                scale,
                on_cpu(ours),
                on_cpu(parse),
                kind="speedup",
                threshold=threshold,
                notes="the same runs' CPU seconds: what a quiet machine's wall time would be",
            )
        )
    ours, bare = pairs(
        reps,
        ("query_latency", str(json_dir), str(db), "sql", "list", "30"),
        ("query_latency", str(json_dir), str(db), "json", "parse", "30"),
    )
    figures.append(
        measured(
            "list(partition) of 100 from SQL vs bare orjson.loads of the file (nothing checked)",
            scale,
            ours,
            bare,
            kind="speedup",
            threshold=1.0,
        )
    )


def bench_hotpath(scale: str, reps: int, figures: list[Figure]) -> None:
    """Issue 19's targets, each beside its raw floor or its JSON side, in one run."""
    json_dir = store(scale)
    work = DATA / scale / "hotpath"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    db = work / "ours.db"
    bench_import(scale, reps, figures, json_dir, work)
    # The last prepare removed ours: import once more for the read figures below.
    task("import_ours", str(json_dir), fresh(db))
    shutil.rmtree(json_dir / ".migrator", ignore_errors=True)
    bench_reads(scale, reps, figures, json_dir, db)
    bench_validate(scale, reps, figures, json_dir, work)
    bench_puts(scale, reps, figures, json_dir, db, work)


def bench_import(scale: str, reps: int, figures: list[Figure], json_dir: Path, work: Path) -> None:
    """The import beside stdlib executemany of the same rows, without and with the same
    full-text index (`--only import` runs these alone); leaves no database behind."""
    db, base_db = work / "ours.db", work / "baseline.db"
    log(f"{scale}: import vs sqlite3 executemany (issue 19: >= 0.8x)")
    ours, base = import_pairs(reps, json_dir, db, base_db)
    figures.append(
        measured(
            "import docs/s vs sqlite3 executemany (one transaction)",
            scale,
            ours,
            base,
            kind="throughput",
            threshold=0.8,
        )
    )
    log(f"{scale}: import vs sqlite3 executemany + the same full-text index")
    ours, base = import_pairs(reps, json_dir, db, base_db, "import_executemany_indexed")
    figures.append(
        measured(
            "import docs/s vs sqlite3 executemany + the same FTS5 index (one transaction)",
            scale,
            ours,
            base,
            kind="throughput",
            threshold=0.8,
            notes="the toolkit's import keeps the search index; the plain ceiling does not",
        )
    )


def bench_validate(
    scale: str, reps: int, figures: list[Figure], json_dir: Path, work: Path
) -> None:
    """validate of a copy with 0.1% of documents changed, beside its raw floor and DeepDiff;
    `work / "ours.db"` is the imported database (`--only validate` runs these alone)."""
    db = work / "ours.db"
    log(f"{scale}: validate (0.1% changed) vs its raw floor and vs DeepDiff")
    changed = work / "json-changed"
    task("copy_store", str(json_dir), str(changed))
    task("change_fraction", str(changed), str(db), "0.001")
    ours_v, floor = pairs(
        reps,
        ("validate_ours", str(changed), str(db)),
        ("validate_raw_floor", str(changed), str(db)),
    )
    figures.append(
        measured(
            "validate vs raw floor (orjson parse of every file + stdlib fetch of every row)",
            scale,
            ours_v,
            floor,
            kind="ratio",
            threshold=1.5,
        )
    )
    deep = [task("validate_deepdiff_all", str(changed), str(db), "500") for _ in ours_v]
    figures.append(
        measured(
            "validate vs DeepDiff on every pair",
            scale,
            ours_v,
            deep,
            kind="speedup",
            threshold=20.0,
            notes="DeepDiff timed on the first 500 pairs, scaled to all",
        )
    )


def mirror(json_dir: Path, db: Path) -> None:
    """Make a copied store the one its copied database mirrors (its `store-id`), or
    `phase set dual-write` refuses the pair (migrator.adapters.store_identity)."""
    with sqlite3.connect(db) as conn:
        row = conn.execute("SELECT value FROM migrator_meta WHERE key = 'store_id'").fetchone()
    if row is not None:
        (json_dir / ".migrator").mkdir(exist_ok=True)
        (json_dir / ".migrator" / "store-id").write_text(row[0] + "\n", encoding="ascii")


def bench_puts(
    scale: str, reps: int, figures: list[Figure], json_dir: Path, db: Path, work: Path
) -> None:
    """Issue 19's put targets: put in dual-write and sqlite-primary beside a json-only put, each
    phase on its own copy of the store and of its imported database `db`."""
    log(f"{scale}: put per phase vs json-only (median and p95)")
    copies = {}
    for phase in ("json-only", "dual-write", "sqlite-primary"):
        target = work / phase
        task("copy_store", str(json_dir), str(target / "json"))
        shutil.copyfile(db, target / "db.sqlite")
        mirror(target / "json", target / "db.sqlite")
        copies[phase] = target
    base_dir = copies["json-only"]
    for phase, stat, threshold in (
        ("dual-write", "median", 1.05),
        ("dual-write", "p95", 1.15),
        ("sqlite-primary", "median", 1.10),
    ):
        ours, json_only = pairs(
            reps,
            (
                "put_latency",
                str(copies[phase] / "json"),
                str(copies[phase] / "db.sqlite"),
                phase,
                "30",
                stat,
            ),
            (
                "put_latency",
                str(base_dir / "json"),
                str(base_dir / "db.sqlite"),
                "json-only",
                "30",
                stat,
            ),
        )
        figures.append(
            measured(
                f"put in {phase} vs json-only ({stat} of 30 puts, 100-session partition)",
                scale,
                ours,
                json_only,
                kind="ratio",
                threshold=threshold,
            )
        )


def bench_startup(reps: int, figures: list[Figure]) -> None:
    """`migrator --version` and `--help` as a user starts them: a whole process each, beside a
    bare interpreter (the floor no command can go under)."""
    log("start-up: migrator --version, --help")
    for argv in (("--version",), ("--help",)):
        ours, bare = pairs(reps, ("startup", *argv), ("startup_bare",))
        figures.append(
            measured(
                f"start-up: migrator {argv[0]} (whole process) vs a bare python -c pass",
                "-",
                ours,
                bare,
                kind="seconds",
                threshold=0.3,
            )
        )


def fmt(values: list[float], unit: str) -> str:
    median = statistics.median(values)
    if unit == "docs/s":
        return f"{median:,.0f} docs/s ({min(values):,.0f}-{max(values):,.0f})"
    return f"{_secs(median)} ({_secs(min(values))}-{_secs(max(values))})"


def _secs(value: float) -> str:
    return f"{value * 1000:.2f} ms" if value < 1 else f"{value:.2f} s"


def machine() -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
    }


#: Hand-written analysis in RESULTS.md that a new run keeps (it cites profiles, not one run).
KEPT_SECTION = "## Hot path (issue 19)"


def _kept_sections(path: Path) -> list[str]:
    """The kept section of the previous results file, to go after the new tables."""
    if not path.exists():
        return []
    text = path.read_text(encoding="utf-8")
    start = text.find(KEPT_SECTION)
    return [] if start < 0 else ["", text[start:].rstrip("\n")]


#: The memory table's columns: (heading, key prefix in `memory[scale]`).
MEMORY_COLUMNS = (
    ("import", "import"),
    ("import, files parsed in-process", "import_inline"),
    ("import, files parsed in the helper", "import_helper"),
    ("validate", "validate"),
)


def _memory_cell(values: dict[str, Any], key: str) -> str:
    single = values.get(f"{key}_peak_rss_mb", values.get(f"{key}_rss_mb"))
    if single is None:
        return "-"
    tree = values.get(f"{key}_tree_rss_mb")
    return f"{single:.0f} MB" + (f" ({tree:.0f} MB)" if tree else "")


def _memory_lines(memory: dict[str, Any], mem_ratio: float | None) -> list[str]:
    """The peak memory table: the kernel's figure (the largest single process) and the largest
    sum over the process and the helper it starts (bench/peak_rss.py)."""
    if not memory:
        return []
    lines = [
        "",
        "## Peak memory (RSS)",
        "",
        "Largest single process (the kernel's peak RSS), and in brackets the largest sum over the",
        "command and the processes it started (the import's reading helper), sampled every 50 ms.",
        "`import` and `validate`: the CLI's commands with `--only memory`, the library's functions",
        "in `make bench`; the import parses files in a helper only when a core is idle.",
        "",
        "| scale | " + " | ".join(heading for heading, _ in MEMORY_COLUMNS) + " |",
        "|---" * (len(MEMORY_COLUMNS) + 1) + "|",
    ]
    for scale, values in memory.items():
        cells = [_memory_cell(values, key) for _, key in MEMORY_COLUMNS]
        lines.append(f"| {scale} | " + " | ".join(cells) + " |")
    if "100k" in memory:
        imports = {k: v for k, v in memory["100k"].items() if k.startswith("import")}
        worst = max(v for k, v in imports.items() if "tree" not in k)
        tree = max(v for k, v in imports.items() if "tree" in k)
        lines += [
            "",
            f"Import peak RSS at 100k (issue 19: <= 150 MB): at most {worst:.0f} MB for one "
            f"process ({'met' if worst <= 150 else '**not met**'}); at most {tree:.0f} MB summed "
            f"over the import's processes ({'met' if tree <= 150 else '**not met**'}).",
        ]
    if mem_ratio is not None:
        verdict = "met" if mem_ratio <= 3 else "**not met**"
        lines += ["", f"Import peak RSS 100k vs 10k: {mem_ratio:.2f}x (target <= 3x: {verdict})."]
    return lines


def write_results(
    figures: list[Figure], memory: dict[str, Any], reps: int, name: str = "RESULTS"
) -> None:
    info = machine()
    mem_ratio = None
    if "10k" in memory and "100k" in memory:
        mem_ratio = memory["100k"]["import_peak_rss_mb"] / memory["10k"]["import_peak_rss_mb"]
    lines = [
        "# Benchmark results",
        "",
        f"Machine: {info['cpu']}, {info['cores']} cores; Python {info['python']}, "
        f"SQLite {info['sqlite']}. Generated {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} "
        f"by `make bench`; {reps} alternating repetitions per figure (ours, baseline, ...); "
        "medians with (min-max); the ratio is the median of the pairwise ratios.",
    ]
    if figures:
        lines += [
            "",
            "| figure | scale | ours | baseline | ratio | target | met |",
            "|---|---|---|---|---|---|---|",
        ]
    for f in figures:
        ratio = f"{f.value:.1f}x faster" if f.kind == "speedup" else f"{f.value:.3f}x"
        met = {None: "n/a", True: "yes", False: "**no**"}[f.met]
        note = f" ({f.notes})" if f.notes else ""
        lines.append(
            f"| {f.name}{note} | {f.scale} | {fmt(f.ours, f.unit)} | {fmt(f.baseline, f.unit)} "
            f"| {ratio} | {f.target} | {met} |"
        )
    if NOTES:
        lines += ["", *NOTES]
    lines += _memory_lines(memory, mem_ratio)
    lines += _kept_sections(HERE / f"{name}.md")
    (HERE / f"{name}.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    payload = {
        "machine": info,
        "repetitions": reps,
        "figures": [{**asdict(f), "ratio": f.value, "met": f.met} for f in figures],
        "memory": memory,
        "import_rss_100k_vs_10k": mem_ratio,
        "notes": NOTES,
    }
    json_name = "results.json" if name == "RESULTS" else f"{name.lower()}.json"
    (HERE / json_name).write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--scale",
        choices=sorted(SCALES),
        default="10k",
        help="largest store to measure (smaller ones run too)",
    )
    parser.add_argument(
        "--reps", type=int, default=None, help="repetitions per figure (default 3; 2 with 100k)"
    )
    parser.add_argument(
        "--only",
        choices=[
            "queries",
            "search",
            "hotpath",
            "import",
            "validate",
            "reads",
            "puts",
            "pg",
            "memory",
        ],
        help="measure one group alone, into bench/RESULTS-<group>.md (RESULTS.md is left as is)",
    )
    args = parser.parse_args()
    # A bench stopped with `kill` still runs its `finally`s: the PostgreSQL server goes too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    largest = list(SCALES).index(args.scale)
    figures: list[Figure] = []
    memory: dict[str, Any] = {}
    started = time.monotonic()
    if args.only == "queries":
        reps = args.reps or 3
        for scale in [s for s in SCALES if s in ("10k", "100k")][: max(largest, 1)]:
            bench_queries(scale, reps, figures)
        write_results(figures, memory, reps, name="RESULTS-queries")
        log(f"done in {time.monotonic() - started:.0f} s: bench/RESULTS-queries.md")
        print((HERE / "RESULTS-queries.md").read_text())
        return
    if args.only == "reads":
        reps = args.reps or 3
        json_dir = store(args.scale)
        db = DATA / args.scale / "work" / "reads.db"
        db.parent.mkdir(parents=True, exist_ok=True)
        if not db.exists():
            task("import_ours", str(json_dir), fresh(db))
            shutil.rmtree(json_dir / ".migrator", ignore_errors=True)
        bench_reads(args.scale, reps, figures, json_dir, db)
        write_results(figures, memory, reps, name="RESULTS-reads")
        print((HERE / "RESULTS-reads.md").read_text())
        return
    if args.only == "puts":
        reps = args.reps or 3
        scale = args.scale if args.scale != "100k" else "10k"
        json_dir = store(scale)  # first: generating a store clears its scale's folder
        work = DATA / scale / "puts"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        db = work / "imported.db"
        task("import_ours", str(json_dir), fresh(db))
        shutil.rmtree(json_dir / ".migrator", ignore_errors=True)
        bench_puts(scale, reps, figures, json_dir, db, work)
        write_results(figures, memory, reps, name="RESULTS-puts")
        log(f"done in {time.monotonic() - started:.0f} s: bench/RESULTS-puts.md")
        print((HERE / "RESULTS-puts.md").read_text())
        return
    if args.only == "memory":
        from memory_bench import bench_memory

        for scale in [s for s in SCALES if s != "1k"][: max(largest, 1)]:
            bench_memory(sys.modules[__name__], scale, memory)
        write_results(figures, memory, 1, name="RESULTS-memory")
        print((HERE / "RESULTS-memory.md").read_text())
        return
    if args.only == "pg":
        from pg_bench import bench_postgres

        reps = args.reps or (1 if args.scale == "100k" else 3)
        bench_postgres(sys.modules[__name__], args.scale, reps, figures)
        write_results(figures, memory, reps, name="RESULTS-pg")
        log(f"done in {time.monotonic() - started:.0f} s: bench/RESULTS-pg.md")
        print((HERE / "RESULTS-pg.md").read_text())
        return
    if args.only in ("import", "validate"):
        reps = args.reps or (1 if args.scale == "100k" else 3)
        json_dir = store(args.scale)  # first: generating a store clears its scale's folder
        work = DATA / args.scale / args.only
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        if args.only == "import":
            bench_import(args.scale, reps, figures, json_dir, work)
        else:
            task("import_ours", str(json_dir), fresh(work / "ours.db"))
            shutil.rmtree(json_dir / ".migrator", ignore_errors=True)
            bench_validate(args.scale, reps, figures, json_dir, work)
        name = f"RESULTS-{args.only}"
        write_results(figures, memory, reps, name=name)
        log(f"done in {time.monotonic() - started:.0f} s: bench/{name}.md")
        print((HERE / f"{name}.md").read_text())
        return
    if args.only == "hotpath":
        reps = args.reps or 3
        bench_startup(reps, figures)
        bench_hotpath(args.scale if args.scale != "1k" else "1k", reps, figures)
        write_results(figures, memory, reps, name="RESULTS-hotpath")
        log(f"done in {time.monotonic() - started:.0f} s: bench/RESULTS-hotpath.md")
        print((HERE / "RESULTS-hotpath.md").read_text())
        return
    # At 100k the big store takes half the 15-minute budget: fewer repetitions elsewhere.
    args.reps = args.reps or (2 if args.scale == "100k" else 3)
    if args.only == "search":
        from search_bench import bench_search

        for scale in list(SCALES)[1 : largest + 1]:
            bench_search(sys.modules[__name__], scale, 1 if scale == "100k" else args.reps, figures)
        write_results(figures, memory, args.reps, name="RESULTS-search")
        print((HERE / "RESULTS-search.md").read_text())
        return
    bench_startup(args.reps, figures)
    for scale in list(SCALES)[: largest + 1]:
        reps = 1 if scale == "100k" else args.reps
        bench_scale(scale, reps, figures, memory)
    bench_phases("10k" if largest >= 1 else "1k", args.reps, figures)
    bench_hotpath("10k" if largest >= 1 else "1k", args.reps, figures)  # issue 19's floors
    for scale in list(SCALES)[1 : largest + 1]:  # 10k, and 100k when asked
        bench_queries(scale, args.reps if scale == "10k" else 1, figures)
    from pg_bench import bench_postgres  # bench/ is this script's directory
    from search_bench import bench_search

    bench_postgres(sys.modules[__name__], "10k" if largest >= 1 else "1k", args.reps, figures)

    for scale in list(SCALES)[1 : largest + 1]:
        bench_search(sys.modules[__name__], scale, 1 if scale == "100k" else args.reps, figures)
    write_results(figures, memory, args.reps)
    log(f"done in {time.monotonic() - started:.0f} s: bench/RESULTS.md, bench/results.json")
    print((HERE / "RESULTS.md").read_text())


if __name__ == "__main__":
    main()
