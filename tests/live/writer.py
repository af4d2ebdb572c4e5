"""A writer process for the live-validation tests (run as a script, not collected).

    python writer.py JSON_DIR DB READY_FILE STOP_FILE PARTITION:ID [PARTITION:ID ...]

Rewrites the named documents in turn through `open_store` (whatever phase the stores are in),
each time with `updated_at` set to now and a new `task`, as a live application does. Touches
READY_FILE once each document was written once; stops when STOP_FILE exists (or after two
minutes, so a test that dies never leaves it running) and prints how many writes it made.
A write refused because the phase is unknown (`PhaseUnknownError`: the phase file missing or
damaged) is not acknowledged: the writer waits and tries the same write again, as an
application retrying a failed request would, so write n still sets `rewritten n`.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from migrator.adapters.dual_write import open_store
from migrator.errors import PhaseUnknownError

LIFETIME_SECONDS = 120.0
RETRY_SECONDS = 0.02


def main() -> None:
    json_dir, db, ready, stop = sys.argv[1], sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4])
    targets = [arg.split(":", 1) for arg in sys.argv[5:]]
    writes = 0
    deadline = time.monotonic() + LIFETIME_SECONDS
    with open_store(json_dir, db) as store:
        while not stop.exists() and time.monotonic() < deadline:
            partition, doc_id = targets[writes % len(targets)]
            try:
                doc = store.get(doc_id)
                assert doc is not None, doc_id
                now = datetime.now(UTC).isoformat(timespec="microseconds")
                doc["updated_at"] = now.replace("+00:00", "Z")
                doc["task"] = f"rewritten {writes}"
                store.put(partition, doc)
            except PhaseUnknownError:
                time.sleep(RETRY_SECONDS)
                continue
            writes += 1
            if writes % len(targets) == 0:
                ready.touch()
    print(writes)


if __name__ == "__main__":
    main()
