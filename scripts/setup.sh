#!/usr/bin/env bash
# Installs the Debian packages Datolite needs to build, test and run, but
# only those that are missing, so a second run costs a few dpkg queries.
# Usage: scripts/setup.sh        (as root, or with sudo available)
set -euo pipefail

PACKAGES=(
  build-essential   # gcc, make, libc headers
  cmake
  pkg-config
  liblmdb-dev       # storage engine
  liblua5.4-dev     # transaction functions
  libmsgpack-dev    # msgpack-c: wire format, tx-log values
  libcmocka-dev     # unit tests
  libedit-dev       # REPL line editing (BSD licence)
  libpcre2-dev      # regexes in queries (re-find, re-matches, re-seq)
  clang-format      # layout check (scripts/format.sh --check)
  clang             # fuzz targets (libFuzzer needs clang)
  libclang-rt-14-dev  # libFuzzer and the sanitizer runtimes for clang 14
  libsqlite3-dev    # benchmarks: SQLite, a peer query_bench measures in the same run
  python3           # the Python package (bindings/python, ctypes from the standard library)
  python3-msgpack   # Python package: values cross the C boundary as msgpack
  python3-pytest    # Python package tests (bindings/python/tests, run by ctest)
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "setup: installing missing Debian packages: ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
# A fresh machine has empty package lists; refresh them if the install fails.
if ! $SUDO apt-get install -y --no-install-recommends "${missing[@]}"; then
  $SUDO apt-get update
  $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
fi
