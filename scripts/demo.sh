#!/usr/bin/env bash
# `make demo`: the main job on a synthetic store, in a scratch directory under demo/.
# Generates ~2000 realistic sessions (plus the bundled edge-case fixtures), imports them (a
# progress bar on a terminal, then the summary), imports again (every file `unchanged`), and
# validates that the database holds exactly what the JSON files hold.
# The database is demo/sessions.db, or MIGRATOR_DB when set (make demo-pg sets a PostgreSQL URL).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
export MIGRATOR_DB="${MIGRATOR_DB:-demo/sessions.db}"
export MIGRATOR_JSON_DIR=demo/json
rm -rf demo && mkdir -p demo

echo "== generate a legacy JSON store"
$BIN/migrator generate --sessions 2000 --seed 42 --out demo/json
cp fixtures/store/*.json demo/json/

echo
echo "== import it"
$BIN/migrator import

echo
echo "== import again: nothing changed, so nothing is written"
$BIN/migrator import

echo
echo "== validate: every document compared"
$BIN/migrator validate
