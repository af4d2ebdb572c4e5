#!/usr/bin/env bash
# `make demo`: the main job on the bundled fixtures, in a scratch directory under demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
rm -rf demo && mkdir -p demo
cp -r fixtures/store demo/json
$BIN/migrator init --db demo/sessions.db
$BIN/python - <<'PY'
from adapters.json_store import JsonStore
from adapters.sql_store import SqlStore
from schemas.registry import resolve

schema = resolve("sessions")
json_store, sql_store = JsonStore("demo/json", schema), SqlStore("demo/sessions.db", schema)
for partition, doc in json_store.iter_documents():
    sql_store.put(partition, doc)
for partition in json_store.partitions():
    same = json_store.list(partition) == sql_store.list(partition)
    print(f"{partition}: {len(json_store.list(partition))} in JSON, "
          f"{len(sql_store.list(partition))} in SQLite, identical: {same}")
PY
