#!/usr/bin/env bash
# End-to-end tests of the datolite binary: run commands, check output and
# exit codes.  Usage: test_cli.sh path/to/datolite
set -u
BIN="$1"
pass=0
fail=0
check() { # name, expected exit code, command...
  local name="$1" want="$2"; shift 2
  local out rc
  out=$("$@" 2>&1); rc=$?
  if [ "$rc" -eq "$want" ]; then pass=$((pass+1)); else
    fail=$((fail+1)); echo "FAIL: $name: exit $rc, wanted $want; output: $out"; fi
}
contains() { # name, needle, command...
  local name="$1" needle="$2"; shift 2
  local out
  out=$("$@" 2>&1)
  case "$out" in *"$needle"*) pass=$((pass+1));; *)
    fail=$((fail+1)); echo "FAIL: $name: output lacks '$needle': $out";; esac
}
check "version exits 0" 0 "$BIN" --version
contains "version prints version" "datolite 0.1.0" "$BIN" --version
check "help exits 0" 0 "$BIN" --help
contains "help shows usage" "usage: datolite" "$BIN" --help
check "no args is a usage error" 1 "$BIN"
check "unknown command is a usage error" 1 "$BIN" frobnicate
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
