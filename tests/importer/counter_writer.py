"""An application process for the dual-write import test (run as a script, not collected).

    python counter_writer.py JSON_DIR DB STARTED STOP SEED PAUSE IDS_FILE

Through `migrator.open_store`, round after round (round i = 1, 2, ...) until the STOP file
exists (or MAX_ROUNDS or MAX_SECONDS pass): puts a new version of a few documents listed in
IDS_FILE (JSON: id -> partition), chosen by a seeded random generator, each carrying the round
number as its counter (`timeout_seconds`), and every tenth round a new document. Touches
STARTED after its first round, sleeps PAUSE seconds between rounds. Prints one JSON object at
the end: `last` (id -> [partition, the highest counter it wrote]) and `rounds`.
"""

from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import migrator
from tests.schemas.samples import session

#: Documents updated per round.
PER_ROUND = 6
MAX_ROUNDS = 5000
MAX_SECONDS = 90.0


def versioned(doc_id: str, counter: int) -> dict[str, object]:
    """Version `counter` of a document (what the test expects to find, newest wins)."""
    return session(doc_id, task=f"counter {counter}", timeout_seconds=counter)


def main() -> None:
    json_dir, db, started, stop, seed, pause, ids_file = sys.argv[1:8]
    hot: dict[str, str] = json.loads(Path(ids_file).read_text())
    rng = random.Random(int(seed))
    names = sorted(hot)
    last: dict[str, tuple[str, int]] = {}
    deadline = time.monotonic() + MAX_SECONDS
    rounds = 0
    with migrator.open_store(json_dir, db) as store:
        for counter in range(1, MAX_ROUNDS + 1):
            if Path(stop).exists() or time.monotonic() > deadline:
                break
            for doc_id in rng.sample(names, PER_ROUND):
                store.put(hot[doc_id], versioned(doc_id, counter))
                last[doc_id] = (hot[doc_id], counter)
            if counter % 10 == 0:
                doc_id, partition = f"new-{counter}", hot[rng.choice(names)]
                store.put(partition, versioned(doc_id, counter))
                last[doc_id] = (partition, counter)
            rounds = counter
            if counter == 1:
                Path(started).touch()
            time.sleep(float(pause))
    print(json.dumps({"last": last, "rounds": rounds}))


if __name__ == "__main__":
    main()
