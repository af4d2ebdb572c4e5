"""An application process for the concurrency test (run as a script, not collected).

    python busy_writer.py JSON_DIR DB NAME STOP_FILE MAX_ROUNDS MAX_SECONDS

Through `migrator.open_store`, round after round until STOP_FILE exists (or MAX_ROUNDS or
MAX_SECONDS pass): puts a document of its own (`NAME-i`), rewrites `NAME-0`, puts its version
of one of three documents every writer shares, and deletes every fifth own document again.
Prints one JSON object at the end: `expected` (id -> the task it last wrote, null when it
deleted it) and `phases` (the phase it saw after each round, in order).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import migrator
from tests.reliability.workload import PARTITIONS
from tests.schemas.samples import session


def main() -> None:
    json_dir, db, name, stop = sys.argv[1:5]
    max_rounds, deadline = int(sys.argv[5]), time.monotonic() + float(sys.argv[6])
    expected: dict[str, str | None] = {}
    phases: list[str] = []
    with migrator.open_store(json_dir, db) as store:
        for i in range(max_rounds):
            if Path(stop).exists() or time.monotonic() > deadline:
                break
            own = session(f"{name}-{i}", task=f"{name} round {i}")
            store.put(PARTITIONS[i % len(PARTITIONS)], own)
            expected[own["id"]] = own["task"]
            first = session(f"{name}-0", task=f"{name}-0 rewritten in round {i}")
            store.put(PARTITIONS[0], first)
            expected[first["id"]] = first["task"]
            store.put(PARTITIONS[1], session(f"shared-{i % 3}", task=f"{name} round {i}"))
            if i % 5 == 4:
                assert store.delete(own["id"]), own["id"]
                expected[own["id"]] = None
            phases.append(str(store.phase))
    print(json.dumps({"expected": expected, "phases": phases}))


if __name__ == "__main__":
    main()
