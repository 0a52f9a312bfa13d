#!/usr/bin/env bash
# Sets up (missing Debian packages), builds Datolite and starts its REPL on
# the default database ./datolite-db, loading the sample library catalogue
# (examples/library) the first time.  Usage: bash scripts/run.sh [database-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
# datolite_shared: the library the Python package (bindings/python) loads
cmake --build build/release -j "$jobs" --target datolite datolite_shared >/dev/null
BIN=build/release/bindings/cli/datolite
DB="${1:-datolite-db}"
if [ ! -e "$DB/data.mdb" ]; then
  echo "loading the sample library catalogue (examples/library) into $DB"
  "$BIN" schema "$DB" examples/library/schema.edn >/dev/null
  "$BIN" import --quiet "$DB" examples/library/data.edn >/dev/null
fi
exec "$BIN" "$DB"
