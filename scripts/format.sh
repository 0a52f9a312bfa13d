#!/usr/bin/env bash
# Applies .clang-format to every C source and header of the project, or
# with --check lists the files that differ and exits 1.
# Needs clang-format (Debian package clang-format).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || { echo "format: apt-get install clang-format" >&2; exit 2; }
files=$(git ls-files '*.c' '*.h' '*.cpp')
if [ "${1:-}" = "--check" ]; then
  bad=0
  for f in $files; do
    if ! clang-format "$f" | cmp -s - "$f"; then echo "needs formatting: $f"; bad=1; fi
  done
  exit $bad
fi
clang-format -i $files
