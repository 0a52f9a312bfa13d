#!/usr/bin/env bash
# End-to-end tests of `datolite gc`: history dropped before the watermark,
# the watermark that never moves back, current datoms and the log kept,
# the log functions in queries, and the usage errors.
# Usage: test_cli_gc.sh path/to/datolite
set -u
BIN="$1"
. "$(dirname "$0")/lib.sh"
e2e_setup datolite-e2e-gc

DB="$T/db"
echo '{:p/age {:db/valueType :db.type/long} :p/pin {:db/valueType :db.type/long :db/noHistory true}}' |
  "$BIN" schema "$DB" - >/dev/null || { echo "FAIL: schema"; exit 1; }
# t1: age 40; t2: 41 (retracts 40); t3: 42 (retracts 41), pin replaced
tx '[{:db/id "a" :p/name "Ann" :p/age 40 :p/pin 1}]'
tx '[[:db/add 1 :p/age 41]]'
tx '[[:db/add 1 :p/age 42] [:db/add 1 :p/pin 2]]'

Q_RETRACTED='[:find ?v ?t :where [(tx-ids $ nil nil) [?tx ...]] [(tx-data $ ?tx) [[?e ?a ?v ?tx ?added]]] [(false? ?added)] [(= ?a :p/age)] [(- ?tx 4398046511104) ?t]]'
expect "retractions in the log" 0 '#{[40 2]
  [41 3]}' "$BIN" query "$DB" "$Q_RETRACTED"
expect "gc before t3" 0 '{:dropped 1, :watermark 4398046511107}' "$BIN" gc "$DB" --before 3
expect "lower watermark: no-op" 0 '{:dropped 0, :watermark 4398046511107}' "$BIN" gc "$DB" --before 2
expect "current datoms kept" 0 '#{[42 2]}' "$BIN" query "$DB" '[:find ?a ?p :where [1 :p/age ?a] [1 :p/pin ?p]]'
expect "the log keeps every retraction" 0 '#{[40 2]
  [41 3]}' "$BIN" query "$DB" "$Q_RETRACTED"
expect "tx-ids from an instant" 0 '#{[4398046511105]}' "$BIN" query "$DB" \
  '[:find ?tx :where [(tx-ids $ #inst "2000-01-01" 2) [?tx ...]]]'
contains_err "as-of before the watermark" 2 "the earliest as-of is 4398046511107" \
  "$BIN" query "$DB" '[:find ?a :where [1 :p/age ?a]]' --as-of 2
expect "as-of at the watermark" 0 '#{[42]}' "$BIN" query "$DB" '[:find ?a :where [1 :p/age ?a]]' --as-of 3
expect "history from the watermark" 0 '#{[41 2 true]
  [41 3 false]
  [42 3 true]}' "$BIN" query "$DB" \
  '[:find ?a ?t ?added :where [1 :p/age ?a ?tx ?added] [(- ?tx 4398046511104) ?t]]' --history
expect "check after gc" 0 "$DB: ok (6 datoms, 29 entries checked)" "$BIN" check "$DB"
expect "gc by id, after the last tx" 0 '{:dropped 1, :watermark 4398046511108}' "$BIN" gc "$DB" --before 4398046511108
contains_err "past the last tx" 2 "is not a transaction id of this database" "$BIN" gc "$DB" --before 5
contains_err "missing --before" 1 "missing --before TX" "$BIN" gc "$DB"
contains_err "bad TX" 1 "--before needs a transaction id or number" "$BIN" gc "$DB" --before x
contains_err "negative TX" 1 "--before needs a transaction id or number" "$BIN" gc "$DB" --before -2
contains_err "missing DIR" 1 "missing DIR" "$BIN" gc --before 2
contains_err "not a database" 2 "no Datolite database" "$BIN" gc "$T/none" --before 2
[ -e "$T/none" ] && bad "gc created a database"
expect "help" 0 "$("$BIN" gc --help)" "$BIN" gc -h
case "$("$BIN" gc --help)" in *"usage: datolite gc DIR --before TX"*) ok;;
  *) bad "help text";; esac

e2e_done "gc e2e: "
