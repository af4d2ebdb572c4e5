#!/usr/bin/env bash
# `make demo-pg`: the same demo as `make demo` (scripts/demo.sh), against a throwaway local
# PostgreSQL server: started first (initdb + pg_ctl in /tmp, see tests/pg_server.py), handed to
# the demo as MIGRATOR_DB, then stopped and deleted, whether the demo succeeds or not.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! grep -q 'MIGRATOR_DB' scripts/demo.sh; then
    echo "error: scripts/demo.sh does not take its database from MIGRATOR_DB" >&2
    exit 2
fi
exec .venv/bin/python -m tests.pg_server run -- bash scripts/demo.sh
