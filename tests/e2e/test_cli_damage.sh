#!/usr/bin/env bash
# End-to-end tests of damaged files and concurrent writers: a truncated
# data.mdb is a clear error (exit 4, no signal) for every command, read-only
# ones included; `check` reports damage without crashing; read commands on
# zeroed pages and bit flips end with an error, never a signal; a write from
# another process during a chunked init-db is refused, and the load stays
# exact.  Usage: test_cli_damage.sh path/to/datolite
set -u
BIN="$1"
. "$(dirname "$0")/lib.sh"
e2e_setup datolite-damage

# name, expected exit code, needle in the output, command...
want() {
  local name="$1" code="$2" needle="$3"; shift 3
  local out rc
  out=$("$@" 2>&1 </dev/null); rc=$?
  if [ "$rc" -eq "$code" ] && sane "$out"; then
    case "$out" in *"$needle"*) ok;; *) bad "$name: output lacks '$needle': $out";; esac
  else
    bad "$name: exit $rc, wanted $code; output: $out"
  fi
}

# {====== A healthy database ======
{
  echo '{:p/name {:db/valueType :db.type/string} :p/friend {:db/valueType :db.type/ref}}'
} > "$T/schema.edn"
for i in $(seq 1 3000); do
  echo "[$i :p/name \"person $i with a name long enough to fill some pages\"]"
  [ "$i" -gt 1 ] && echo "[$i :p/friend $((i-1))]"
done > "$T/people.edn"
"$BIN" init-db --schema "$T/schema.edn" "$T/db" "$T/people.edn" >/dev/null 2>&1 || bad "init-db"
"$BIN" transact "$T/db" '[{:db/id "n" :p/name "new"} [:db/retract 5 :p/friend 4]]' >/dev/null \
  || bad "transact on the healthy database"
want "check of a healthy database" 0 "ok (" "$BIN" check "$T/db"
want "check --help documents the exit codes" 0 "Exits with 0" "$BIN" check --help
want "check of a missing directory" 2 "No such file" "$BIN" check "$T/nowhere"
want "check without DIR" 1 "missing DIR" "$BIN" check
# }======

# {====== A truncated file: every command ======
cp -r "$T/db" "$T/cut"
size=$(stat -c %s "$T/cut/data.mdb")
truncate -s $((size / 2)) "$T/cut/data.mdb"
echo '[[1 :p/name "x"]]' > "$T/one.edn"
echo '{:q/x {:db/valueType :db.type/long}}' > "$T/s2.edn"
M="truncated"
want "truncated: schema" 4 "$M" "$BIN" schema "$T/cut"
want "truncated: schema FILE" 4 "$M" "$BIN" schema "$T/cut" "$T/s2.edn"
want "truncated: transact" 4 "$M" "$BIN" transact "$T/cut" '[[:db/add 1 :p/name "x"]]'
want "truncated: import" 4 "$M" "$BIN" import "$T/cut" "$T/one.edn"
want "truncated: init-db" 4 "$M" "$BIN" init-db "$T/cut" "$T/one.edn"
want "truncated: fill-db" 4 "$M" "$BIN" fill-db "$T/cut" "$T/one.edn"
want "truncated: datoms eav" 4 "$M" "$BIN" datoms "$T/cut" eav
want "truncated: datoms ave" 4 "$M" "$BIN" datoms "$T/cut" ave :p/name
want "truncated: kv get" 4 "$M" "$BIN" kv get "$T/cut" dt/meta '"next_t"'
want "truncated: kv put" 4 "$M" "$BIN" kv put "$T/cut" app k v
want "truncated: kv range" 4 "$M" "$BIN" kv range "$T/cut" dt/eav
want "truncated: kv count" 4 "$M" "$BIN" kv count "$T/cut" dt/eav
want "truncated: kv stat" 4 "$M" "$BIN" kv stat "$T/cut"
want "truncated: kv copy" 4 "$M" "$BIN" kv copy "$T/cut" "$T/copy"
want "truncated: check" 4 "$M" "$BIN" check "$T/cut"
# cut to less than LMDB's two meta pages
cp -r "$T/db" "$T/tiny"
truncate -s 3000 "$T/tiny/data.mdb"
want "cut below the meta pages: datoms" 4 "not an LMDB" "$BIN" datoms "$T/tiny" eav
want "cut below the meta pages: check" 4 "not an LMDB" "$BIN" check "$T/tiny"
# }======

# {====== Damaged pages: check never crashes ======
pages=$((size / 4096))
crashes=0
found=0
for p in $(seq 2 20 $((pages - 1))); do
  rm -rf "$T/z"; cp -r "$T/db" "$T/z"
  dd if=/dev/zero of="$T/z/data.mdb" bs=4096 seek="$p" count=1 conv=notrunc 2>/dev/null
  out=$("$BIN" check "$T/z" 2>&1); rc=$?
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 4 ]; then
    bad "zeroed page $p: check exited $rc: $out"
  elif ! sane "$out"; then
    bad "zeroed page $p: $out"
  else
    ok
  fi
  [ "$rc" -eq 4 ] && found=$((found + 1))
  case "$out" in *"walk crashed with SIG"*) crashes=$((crashes + 1));; esac
done
[ "$found" -gt 0 ] && ok || bad "no zeroed page was found by check"
echo "zeroed pages (every 20th): $found found, $crashes walks crashed and were reported"
# }======

# {====== Damaged pages: read commands end with an error, never a signal ======
# LMDB may fault or abort on a damaged page; the CLI's crash guard turns
# that into exit 4 and "datolite: fatal signal SIG... while reading DIR:
# the database may be damaged; run 'datolite check DIR'".
# flip DIR N: flips one bit in each of N bytes of pages 2.. of DIR/data.mdb
flip() {
  local f="$1/data.mdb" i off b
  for i in $(seq 1 "$2"); do
    off=$(( (RANDOM * 32768 + RANDOM) % (size - 8192) + 8192 ))
    b=$(od -An -tu1 -j "$off" -N1 "$f" | tr -d ' ')
    printf "$(printf '\\%03o' $(( b ^ (1 << (RANDOM % 8)) )))" |
      dd of="$f" bs=1 seek="$off" count=1 conv=notrunc 2>/dev/null
  done
}
# read DIR: every read command on DIR ends with 0, an error (2 or 4) with a
# message, or the crash guard's message and 4
guarded=0
read_cmds() {
  local d="$1" what="$2" rc out
  local -a cmds=(
    "datoms|$d|eav" "datoms|$d|ave|:p/name" "datoms|$d|eav|7" "schema|$d"
    "kv|range|$d|dt/eav" "kv|range|$d|dt/ave" "kv|count|$d|dt/history"
    "kv|get|$d|dt/meta|\"next_t\"" "kv|stat|$d")
  for c in "${cmds[@]}"; do
    IFS='|' read -r -a argv <<<"$c"
    out=$("$BIN" "${argv[@]}" 2>&1 >/dev/null </dev/null); rc=$?
    case "$out" in
    *"fatal signal"*)
      if [ "$rc" -eq 4 ] && case "$out" in *"datolite: fatal signal SIG"*" while reading $d: the database may be damaged; run 'datolite check $d'"*) true;; *) false;; esac; then
        ok; guarded=$((guarded + 1))
      else
        bad "$what: ${argv[*]}: exit $rc: $out"
      fi;;
    *)
      if [ "$rc" -eq 0 ] || { { [ "$rc" -eq 2 ] || [ "$rc" -eq 4 ]; } && [ -n "$out" ] && sane "$out"; }; then
        ok
      else
        bad "$what: ${argv[*]}: exit $rc (0, or 2/4 with a message wanted): $out"
      fi;;
    esac
  done
}
for p in $(seq 3 37 $((pages - 1))); do
  rm -rf "$T/z"; cp -r "$T/db" "$T/z"
  dd if=/dev/zero of="$T/z/data.mdb" bs=4096 seek="$p" count=1 conv=notrunc 2>/dev/null
  read_cmds "$T/z" "zeroed page $p"
done
RANDOM=7
for i in 1 2 3; do
  rm -rf "$T/z"; cp -r "$T/db" "$T/z"
  flip "$T/z" 16
  read_cmds "$T/z" "bit flips $i"
done
[ "$guarded" -gt 0 ] && ok || bad "no read command crashed on a damaged copy: the guard is untested"
echo "damaged copies: $guarded read commands crashed and were ended by the guard"
# DATOLITE_CRASH=1 keeps the default action (a signal, for core dumps);
# page 30 is a dt/eav page here: reading it aborts in LMDB
rm -rf "$T/z"; cp -r "$T/db" "$T/z"
dd if=/dev/zero of="$T/z/data.mdb" bs=4096 seek=30 count=1 conv=notrunc 2>/dev/null
rc=$(ulimit -c 0; DATOLITE_CRASH=1 "$BIN" kv count "$T/z" dt/eav >/dev/null 2>&1; echo $?)
[ "$rc" -gt 128 ] && ok || bad "DATOLITE_CRASH=1: kv count exited $rc, a signal expected"
want "the guard on the same copy" 4 "run 'datolite check $T/z'" "$BIN" kv count "$T/z" dt/eav
# }======

# {====== A write from another process during a chunked init-db ======
for i in $(seq 1 40000); do echo "[$i :p/name \"n$i\"]"; done > "$T/big.edn"
"$BIN" init-db --schema "$T/schema.edn" "$T/ref" "$T/big.edn" >/dev/null 2>&1
want_dump=$("$BIN" datoms "$T/ref" eav | sed -E 's/ [0-9]+\]$/]/')
"$BIN" schema "$T/live" "$T/schema.edn" >/dev/null
"$BIN" init-db --chunk-size 16384 "$T/live" "$T/big.edn" >/dev/null 2>"$T/load.err" &
loader=$!
sleep 0.3 # the loader has begun its first write transaction by then
refused=0
tries=0
while kill -0 "$loader" 2>/dev/null && [ "$tries" -lt 400 ]; do
  out=$("$BIN" transact "$T/live" '[{:db/id "z" :p/name "x"}]' 2>&1); rc=$?
  case "$out" in *"init-db"*) refused=$((refused + 1));; esac
  tries=$((tries + 1))
done
wait "$loader" || bad "the init-db failed: $(cat "$T/load.err")"
got=$("$BIN" datoms "$T/live" eav | sed -E 's/ [0-9]+\]$/]/' | grep -v '"x"\]$')
[ "$got" = "$want_dump" ] && ok || bad "the load is not exact after concurrent writers"
# every transact either ran before the load (refused: the database has no
# datoms yet is fine), after it, or was refused: never two :p/name of 1
n1=$("$BIN" datoms "$T/live" eav 1 | wc -l)
[ "$n1" -eq 1 ] && ok || bad "entity 1 has $n1 datoms"
want "check after concurrent writers" 0 "ok (" "$BIN" check "$T/live"
echo "concurrent transacts: $tries tried, $refused refused during the load"
# }======

e2e_done "test_cli_damage: "
