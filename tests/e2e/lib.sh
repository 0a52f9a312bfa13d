# Shared helpers of the end-to-end scripts, sourced after the script has
# set BIN (the datolite binary):
#   . "$(dirname "$0")/lib.sh"; e2e_setup datolite-e2e-NAME
# Each check adds one to pass or fail and prints "FAIL: ..." on a failure;
# e2e_done prints the counts and ends the script (exit 1 if any failed).

# Counters, the C locale, and a temporary folder T (prefix NAME) that is
# removed when the script exits.
e2e_setup() {
  export LC_ALL=C
  pass=0
  fail=0
  T="$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")"
  trap 'rm -rf "$T"' EXIT
}

# Prints "LABELn passed, m failed" and exits 0 if nothing failed, else 1.
e2e_done() {
  echo "${1:-}$pass passed, $fail failed"
  [ "$fail" -eq 0 ] && exit 0
  exit 1
}

ok() { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL: $*"; }
# A sanitizer report anywhere is a failure, whatever the exit code.
sane() { case "$1" in *Sanitizer*|*"runtime error"*) return 1;; esac; return 0; }

check() { # name, expected exit code, command...
  local name="$1" want="$2"; shift 2
  local out rc
  out=$("$@" 2>&1); rc=$?
  if [ "$rc" -eq "$want" ] && sane "$out"; then ok; else
    bad "$name: exit $rc, wanted $want; output: $out"; fi
}
contains() { # name, needle, command... (stdout and stderr)
  local name="$1" needle="$2"; shift 2
  local out
  out=$("$@" 2>&1)
  case "$out" in *"$needle"*) if sane "$out"; then ok; else bad "$name: $out"; fi;; *)
    bad "$name: output lacks '$needle': $out";; esac
}
expect() { # name, expected exit code, expected stdout (exact), command...
  local name="$1" want="$2" wout="$3"; shift 3
  local out rc
  out=$("$@" 2>"$T/stderr"); rc=$?
  if [ "$rc" -eq "$want" ] && [ "$out" = "$wout" ] && sane "$(cat "$T/stderr")"; then ok; else
    bad "$name: exit $rc (wanted $want); stdout:"; echo "$out"; echo "--- wanted:"; echo "$wout"
    echo "--- stderr:"; cat "$T/stderr"; fi
}
contains_err() { # name, expected exit code, needle in stderr, command...
  local name="$1" want="$2" needle="$3"; shift 3
  local rc
  "$@" >/dev/null 2>"$T/stderr"; rc=$?
  if [ "$rc" -eq "$want" ] && grep -qF -- "$needle" "$T/stderr" && sane "$(cat "$T/stderr")"; then
    ok; else bad "$name: exit $rc; stderr:"; cat "$T/stderr"; fi
}

# Transacts the EDN text $1 into the database $DB; a failure ends the
# script (the later checks would be meaningless).
tx() { "$BIN" transact "$DB" "$1" >/dev/null || { echo "FAIL: transact $1"; exit 1; }; }
