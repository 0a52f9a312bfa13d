#!/usr/bin/env bash
# End-to-end tests of `datolite log`: the transactions of a history with
# explicit instants, over ranges of ids, numbers and instants, and the
# usage errors.  Usage: test_cli_log.sh path/to/datolite
set -u
BIN="$1"
. "$(dirname "$0")/lib.sh"
e2e_setup datolite-e2e-log

DB="$T/db"
echo '{:p/friend {:db/valueType :db.type/ref}}' | "$BIN" schema "$DB" - >/dev/null ||
  { echo "FAIL: schema"; exit 1; }
tx '[{:db/id "a" :p/name "Ann" :p/age 40} {:db/id "b" :p/name "Bob" :p/friend "a"}
     {:db/id "datomic.tx" :db/txInstant #inst "2021-01-01T00:00:00.000Z" :app/by "ops"}]'
tx '[[:db/add 1 :p/age 41] [:db/add :db/current-tx :db/txInstant #inst "2021-02-01T00:00:00.000Z"]]'
tx '[[:db/retractEntity 1] [:db/add :db/current-tx :db/txInstant #inst "2021-03-01T00:00:00.000Z"]]'

L1='{:tx 4398046511105, :instant #inst "2021-01-01T00:00:00.000-00:00", :meta {:db/txInstant #inst "2021-01-01T00:00:00.000-00:00", :app/by "ops"}, :data [[1 :p/name "Ann" true] [1 :p/age 40 true] [2 :p/name "Bob" true] [2 :p/friend 1 true] [4398046511105 :db/txInstant #inst "2021-01-01T00:00:00.000-00:00" true] [4398046511105 :app/by "ops" true]]}'
L2='{:tx 4398046511106, :instant #inst "2021-02-01T00:00:00.000-00:00", :meta {:db/txInstant #inst "2021-02-01T00:00:00.000-00:00"}, :data [[1 :p/age 40 false] [1 :p/age 41 true] [4398046511106 :db/txInstant #inst "2021-02-01T00:00:00.000-00:00" true]]}'
L3='{:tx 4398046511107, :instant #inst "2021-03-01T00:00:00.000-00:00", :meta {:db/txInstant #inst "2021-03-01T00:00:00.000-00:00"}, :data [[1 :p/name "Ann" false] [1 :p/age 41 false] [2 :p/friend 1 false] [4398046511107 :db/txInstant #inst "2021-03-01T00:00:00.000-00:00" true]]}'

expect "whole log" 0 "$L1
$L2
$L3" "$BIN" log "$DB"
expect "--from id --to id" 0 "$L2" "$BIN" log "$DB" --from 4398046511106 --to 4398046511106
expect "--from number" 0 "$L2
$L3" "$BIN" log "$DB" --from 2
expect "--to number" 0 "$L1" "$BIN" log "$DB" --to=1
expect "instant range" 0 "$L2
$L3" "$BIN" log "$DB" --from '#inst "2021-01-15"'
expect "instant upper bound" 0 "$L1
$L2" "$BIN" log "$DB" --to '#inst "2021-02-01"'
expect "empty range" 0 "" "$BIN" log "$DB" --from 4
expect "reversed range" 0 "" "$BIN" log "$DB" --from 3 --to 2
contains_err "mixed ends" 1 "must both be transactions or both instants" "$BIN" log "$DB" --from 1 --to '#inst "2021-01-01"'
contains_err "bad TX" 1 "--from needs a transaction" "$BIN" log "$DB" --from x
contains_err "negative TX" 1 "--to needs a transaction" "$BIN" log "$DB" --to -3
contains_err "missing DIR" 1 "missing DIR" "$BIN" log
contains_err "not a database" 2 "no Datolite database" "$BIN" log "$T/none"
expect "help" 0 "$("$BIN" log --help)" "$BIN" log -h
expect "help text" 0 "$("$BIN" log --help)" "$BIN" help log

e2e_done "log e2e: "
