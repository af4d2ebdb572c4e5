"""A writer process for the multi-process and crash tests (run as a script, not collected).

    python writer.py JSON_DIR DB NAME COUNT [--shared K]

Writes COUNT rounds through `open_store`: each round puts a document of its own
(`NAME-i`, into one of the partitions in turn), updates `NAME-0` again, and, with `--shared`,
puts its version of one of K documents every writer shares. Every 5th own document is deleted
again. At the end it prints, as JSON, what it expects of its own documents: id -> the last
version it wrote, or null when it deleted it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from migrator.adapters.dual_write import open_store
from tests.dual_write.conftest import PARTITIONS, session


def main() -> None:
    json_dir, db, name, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    shared = int(sys.argv[6]) if len(sys.argv) > 6 and sys.argv[5] == "--shared" else 0
    expected: dict[str, str | None] = {}
    with open_store(json_dir, db) as store:
        for i in range(count):
            partition = PARTITIONS[i % len(PARTITIONS)]
            own = session(f"{name}-{i}", version=i)
            store.put(partition, own)
            expected[own["id"]] = own["task"]
            first = session(f"{name}-0", version=1000 + i)
            store.put(PARTITIONS[0], first)
            expected[first["id"]] = first["task"]
            if shared:
                store.put(PARTITIONS[1], session(f"shared-{i % shared}", version=i, model=name))
            if i % 5 == 4:
                assert store.delete(own["id"]), own["id"]
                expected[own["id"]] = None
    print(json.dumps(expected))


if __name__ == "__main__":
    main()
