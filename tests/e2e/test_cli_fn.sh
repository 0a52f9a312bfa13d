#!/usr/bin/env bash
# End-to-end tests of `datolite fn` (install, list) and of calling a
# stored function with `datolite transact`.  Usage: test_cli_fn.sh BIN
set -u
BIN="$1"
. "$(dirname "$0")/lib.sh"
e2e_setup datolite-fn
run() { # name, expected exit code, needle in output ("" = any), command...
  local name="$1" want="$2" needle="$3"; shift 3
  local out rc
  out=$("$@" 2>&1); rc=$?
  if [ "$rc" -ne "$want" ] || ! sane "$out"; then bad "$name: exit $rc, wanted $want: $out"; return; fi
  case "$out" in *"$needle"*) ok;; *) bad "$name: output lacks '$needle': $out";; esac
}

DB="$T/bank"
cat > "$T/transfer.lua" <<'LUA'
return function(db, from, to, amount)
  local a = db:entity({dt.kw'acct/id', from})
  local b = db:entity({dt.kw'acct/id', to})
  if a['acct/balance'] < amount then
    error(('overdraft: account %d has %d'):format(from, a['acct/balance']))
  end
  return {dt.add(a['db/id'], 'acct/balance', a['acct/balance'] - amount),
          dt.add(b['db/id'], 'acct/balance', b['acct/balance'] + amount)}
end
LUA
run schema 0 "" "$BIN" schema "$DB" - <<'EDN'
{:acct/id {:db/valueType :db.type/long :db/unique :db.unique/identity}
 :acct/balance {:db/valueType :db.type/long}}
EDN
run accounts 0 "" "$BIN" transact "$DB" '[{:acct/id 1 :acct/balance 100} {:acct/id 2 :acct/balance 0}]'
run list-empty 0 "no stored functions" "$BIN" fn "$DB" list
run install 0 "installed :bank/transfer" "$BIN" fn "$DB" install :bank/transfer "$T/transfer.lua"
run list 0 ":bank/transfer  lua, " "$BIN" fn "$DB" list
run call 0 "[1 :acct/balance 60 true]" "$BIN" transact "$DB" '[[:bank/transfer 1 2 40]]'
run overdraft 3 "overdraft: account 2 has 40" "$BIN" transact "$DB" '[[:bank/transfer 2 1 41]]'
run unchanged 0 "[2 :acct/balance 40 " "$BIN" datoms "$DB" eav
run install-stdin 0 "installed :bank/noop" "$BIN" fn "$DB" install bank/noop - <<'LUA'
return function(db) return {} end
LUA
run call-noop 0 ":tx-data []" "$BIN" transact "$DB" '[[:db.fn/call :bank/noop]]'
run runaway 0 "installed" "$BIN" fn "$DB" install :bank/loop - <<'LUA'
return function(db) while true do end end
LUA
run runaway-call 2 "instruction limit" "$BIN" transact "$DB" '[[:bank/loop]]'
run usage 1 "missing install or list" "$BIN" fn "$DB"
run usage2 1 "unknown subcommand" "$BIN" fn "$DB" remove x
run usage3 1 "install needs IDENT and FILE" "$BIN" fn "$DB" install :x/y
run nofile 2 "" "$BIN" fn "$DB" install :x/y "$T/missing.lua"
run help 0 "datolite fn DIR install IDENT FILE.lua" "$BIN" fn --help
e2e_done
