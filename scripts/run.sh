#!/usr/bin/env bash
# Sets up (missing Debian packages), builds Datolite and starts it on the
# default database ./datolite-data, loading a small sample data set the
# first time.  Usage: bash scripts/run.sh [database-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j "$jobs" >/dev/null
BIN=build/release/bindings/cli/datolite
DB="${1:-datolite-data}"
"$BIN" --version
if [ ! -e "$DB/data.mdb" ]; then
  echo "loading the sample data into $DB"
  "$BIN" kv load "$DB" sample <examples/sample-kv.edn
fi
exec "$BIN" kv shell "$DB"
