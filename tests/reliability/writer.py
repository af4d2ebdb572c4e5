"""The application, as a process the crash tests kill (run as a script, not collected).

    python writer.py JSON_DIR DB SEED COUNT READY_FILE

Opens the store with `migrator.open_store`, creates READY_FILE, then makes the workload's
operations (`workload.plan(SEED, COUNT)`) in order, printing `done I` (flushed) after each
one returns: whatever kills it, the test reads how far it got.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import migrator
from tests.reliability.workload import document, plan


def main() -> None:
    json_dir, db, seed, count, ready = sys.argv[1:6]
    ops = plan(int(seed), int(count))
    with migrator.open_store(json_dir, db) as store:
        Path(ready).touch()
        for index, op in enumerate(ops):
            if op.kind == "put":
                store.put(op.partition, document(op.doc_id, op.version))
            else:
                assert store.delete(op.doc_id), op
            print(f"done {index}", flush=True)


if __name__ == "__main__":
    main()
