#!/usr/bin/env bash
# Sets up (missing Debian packages), builds and runs the whole test suite
# twice: an optimized build, then a build with AddressSanitizer and
# UndefinedBehaviorSanitizer.  Exits non-zero on the first failure.
# Usage: bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

jobs=$(nproc 2>/dev/null || echo 2)
run_suite() { # build-dir, cmake args...
  local dir="$1"; shift
  echo "== configure $dir ($*)"
  cmake -S . -B "$dir" -DDATOLITE_BENCH=ON "$@" >"$dir.configure.log" 2>&1 ||
    { cat "$dir.configure.log"; return 1; }
  echo "== build $dir"
  cmake --build "$dir" -j "$jobs" 2>&1 | grep -E "warning|error" || true
  cmake --build "$dir" -j "$jobs" >/dev/null
  echo "== test $dir"
  (cd "$dir" && ctest --output-on-failure -j "$jobs")
}

echo "== layout (clang-format)"
bash scripts/format.sh --check

mkdir -p build
run_suite build/release -DCMAKE_BUILD_TYPE=Release
run_suite build/sanitize -DCMAKE_BUILD_TYPE=Debug -DDATOLITE_SANITIZE=ON
echo "== all test suites passed (optimized and sanitized)"
