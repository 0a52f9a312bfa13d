#!/usr/bin/env bash
# Sets up (missing Debian packages), builds and runs the whole test suite
# twice: an optimized build, then a build with AddressSanitizer and
# UndefinedBehaviorSanitizer; then the tests labelled `threads` under
# ThreadSanitizer, and each fuzz target for FUZZ_SECONDS (30) seconds.
# Exits non-zero on the first failure.
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

# ThreadSanitizer: only the threaded tests (label `threads`), built alone.
# LMDB's nested transactions allocate 2 MiB each, which ThreadSanitizer's
# allocator makes slow, so the stress test runs at a twentieth of its work.
echo "== configure build/tsan (ThreadSanitizer)"
cmake -S . -B build/tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDATOLITE_TSAN=ON \
  >build/tsan.configure.log 2>&1 || { cat build/tsan.configure.log; exit 1; }
mapfile -t tsan_tests < <(cd build/tsan && ctest -N -L threads | sed -n 's/^ *Test *#[0-9]*: //p')
# A test runs the executable of its name, or another one (example_bank_small
# runs `bank`): build the executables those tests' commands name.
mapfile -t tsan_targets < <(for t in "${tsan_tests[@]}"; do
  grep -rh "^add_test($t \"" --include=CTestTestfile.cmake build/tsan |
    sed 's/^add_test([^ ]* "\([^"]*\)".*/\1/' | xargs -n1 basename; done | sort -u)
echo "== build build/tsan (${tsan_targets[*]})"
cmake --build build/tsan -j "$jobs" --target "${tsan_targets[@]}" >/dev/null
echo "== test build/tsan"
(cd build/tsan && DT_STRESS_SCALE=0.05 ctest --output-on-failure -j "$jobs" -L threads)

# Fuzzing: each libFuzzer target for FUZZ_SECONDS from the committed
# corpus and regression inputs (clang; docs/fuzzing.md).
echo "== configure build/fuzz (clang, libFuzzer + ASan + UBSan)"
CC=clang CXX=clang++ cmake -S . -B build/fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DDATOLITE_FUZZ=ON -DDATOLITE_TESTS=OFF -DDATOLITE_FUZZ_SECONDS="${FUZZ_SECONDS:-30}" \
  >build/fuzz.configure.log 2>&1 || { cat build/fuzz.configure.log; exit 1; }
mapfile -t fuzz_targets < <(cd build/fuzz && ctest -N -L fuzz | sed -n 's/^ *Test *#[0-9]*: //p')
echo "== build build/fuzz (${fuzz_targets[*]})"
cmake --build build/fuzz -j "$jobs" --target "${fuzz_targets[@]}" >/dev/null
echo "== fuzz build/fuzz (${FUZZ_SECONDS:-30} s each)"
(cd build/fuzz && ctest --output-on-failure -j "$jobs" -L fuzz)
echo "== all test suites passed (optimized, sanitized, ThreadSanitizer, fuzzing)"
