"""The read hot path on PostgreSQL, measured ad hoc (not part of `make bench` yet): get beside a
raw psycopg floor (the same three statements, prepared, dict rows decoded by `from_rows`), list
and summaries beside `JsonStore.list`, on 20 partitions (2,000 sessions) of the 10k bench store,
medians of 3 repetitions. Run from the repository root once `bench/run.py` generated the store:

    python -m tests.pg_server run -- python bench/pg_reads.py

(the throwaway server's settings: fsync off, synchronous_commit off; tests/pg_server.py)."""

import os
import random
import statistics
import time
from pathlib import Path

import psycopg

from migrator.adapters.json_store import JsonStore
from migrator.adapters.sql_store import PartitionWrite, SqlStore
from migrator.schemas.codec import from_rows, to_rows
from migrator.schemas.sessions import SESSIONS as S

url = os.environ["MIGRATOR_DB"]
jdir = Path("bench/data/10k/json")
js = JsonStore(jdir, S)
parts = js.partitions()[:20]
store = SqlStore(url, S)
store.init_schema()
for p in parts:
    docs = js.read_partition(p)
    store.write_partitions([PartitionWrite(p, [to_rows(S, p, d, i) for i, d in enumerate(docs)])])
# Statistics as autovacuum would soon have them: a freshly loaded table has none, and the
# planner then scans chat_messages whole for a partition's children.
with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as c:
    c.execute("ANALYZE")
ids = [i for p in parts for i in store.ids_in(p)]
sample = random.Random(5).sample(ids, 200)
libpq = url.replace("postgresql+psycopg://", "postgresql://")
raw = psycopg.connect(libpq)
root_sql = f"SELECT * FROM {S.root_table.name} WHERE {S.id_column} = %s"
child_sql = [
    (m.name, f"SELECT * FROM {m.table.name} WHERE {c.parent_column} = %s ORDER BY position")
    for c, m in zip(S.children, S.child_mappings, strict=True)
]


def raw_get(i):
    with raw.cursor() as cur:
        cur.execute(root_sql, (i,), prepare=True)
        names = [d.name for d in cur.description]
        row = dict(zip(names, cur.fetchone(), strict=True))
        ch = {}
        for name, sql in child_sql:
            cur.execute(sql, (i,), prepare=True)
            cols = [d.name for d in cur.description]
            ch[name] = [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
    raw.rollback()
    return from_rows(S, row, ch)


assert raw_get(sample[0]) == store.get(sample[0])


def med(f, xs):
    t = []
    for x in xs:
        s = time.perf_counter()
        f(x)
        t.append(time.perf_counter() - s)
    return statistics.median(t)


out = {}
for _ in range(3):
    out.setdefault("get ours", []).append(med(store.get, sample))
    out.setdefault("get raw psycopg floor", []).append(med(raw_get, sample))
    out.setdefault("list ours", []).append(med(store.list, parts * 2))
    out.setdefault("JsonStore.list", []).append(med(js.list, parts * 2))
    out.setdefault("summaries ours", []).append(med(store.summaries, parts * 2))
for k, v in out.items():
    print(f"{k}: {statistics.median(v) * 1000:.3f} ms  (reps {[round(x * 1000, 3) for x in v]})")
store.close()
raw.close()
