#!/usr/bin/env bash
# End-to-end tests of the time options (--as-of, --since, --history) of
# `datolite query`, `datoms`, `pull` and `entity` over a history with
# explicit instants: updates of a cardinality-one attribute, adds and
# retracts of a cardinality-many one, a retractEntity, the added flag in
# queries, and the usage errors.  Usage: test_cli_time.sh path/to/datolite
set -u
BIN="$1"
. "$(dirname "$0")/lib.sh"
e2e_setup datolite-e2e-time

DB="$T/db"
echo '{:p/name {:db/valueType :db.type/string :db/unique :db.unique/identity}
       :p/age {:db/valueType :db.type/long}
       :p/tag {:db/valueType :db.type/keyword :db/cardinality :db.cardinality/many}
       :p/friend {:db/valueType :db.type/ref}}' | "$BIN" schema "$DB" - >/dev/null ||
  { echo "FAIL: schema"; exit 1; }
# tx 1 (4398046511105): Ann 40 tags a b, Bob friend of Ann
tx '[{:db/id "a" :p/name "Ann" :p/age 40 :p/tag [:a :b]} {:db/id "b" :p/name "Bob" :p/friend "a"}
     [:db/add :db/current-tx :db/txInstant #inst "2021-01-01T00:00:00.000Z"]]'
# tx 2: Ann 41, tag a out, tag c in
tx '[[:db/add 1 :p/age 41] [:db/retract 1 :p/tag :a] [:db/add 1 :p/tag :c]
     [:db/add :db/current-tx :db/txInstant #inst "2021-02-01T00:00:00.000Z"]]'
# tx 3: Bob retracted
tx '[[:db/retractEntity 2] [:db/add :db/current-tx :db/txInstant #inst "2021-03-01T00:00:00.000Z"]]'

Q='[:find ?n ?a :where [?e :p/name ?n] [?e :p/age ?a]]'
expect "now" 0 '#{["Ann" 41]}' "$BIN" query "$DB" "$Q"
expect "as-of number" 0 '#{["Ann" 40]}' "$BIN" query "$DB" "$Q" --as-of 1
expect "as-of id" 0 '#{["Ann" 40]}' "$BIN" query "$DB" "$Q" --as-of 4398046511105
expect "as-of before all" 0 '#{}' "$BIN" query "$DB" "$Q" --as-of 0
expect "as-of future" 0 '#{["Ann" 41]}' "$BIN" query "$DB" "$Q" --as-of 99
expect "as-of date" 0 '#{["Ann" 40]}' "$BIN" query "$DB" "$Q" --as-of 2021-01-15
expect "as-of date-time" 0 '#{["Ann" 41]}' "$BIN" query "$DB" "$Q" --as-of 2021-02-01T00:00:00Z
expect "as-of #inst" 0 '#{["Ann" 40]}' "$BIN" query "$DB" "$Q" --as-of '#inst "2021-01-31T23:59:59Z"'
expect "as-of an instant before all" 0 '#{}' "$BIN" query "$DB" "$Q" --as-of 2020-01-01
expect "as-of plan naive" 0 '#{["Ann" 40]}' "$BIN" query "$DB" "$Q" --as-of 1 --plan naive
expect "bob as of 2" 0 '#{["Bob" "Ann"]}' "$BIN" query "$DB" \
  '[:find ?n ?f :where [?e :p/friend ?x] [?e :p/name ?n] [?x :p/name ?f]]' --as-of 2
expect "tags as of 1" 0 '[:a
 :b]' "$BIN" query "$DB" '[:find [?t ...] :where [1 :p/tag ?t]]' --as-of 1
expect "since 1" 0 '#{[1 :p/age 41]
  [1 :p/tag :c]}' "$BIN" query "$DB" '[:find ?e ?a ?v :where [?e ?a ?v] [(not= ?a :db/txInstant)]]' --since 1
expect "since 3: nothing" 0 '#{}' "$BIN" query "$DB" "$Q" --since 3
expect "history ages" 0 '#{[40 4398046511105 true]
  [40 4398046511106 false]
  [41 4398046511106 true]}' "$BIN" query "$DB" '[:find ?a ?tx ?added :where [1 :p/age ?a ?tx ?added]]' --history
expect "history: what was retracted" 0 '#{[1 40]
  [1 :a]
  [2 1]
  [2 "Bob"]}' "$BIN" query "$DB" '[:find ?e ?v :where [?e _ ?v _ false]]' --history
expect "history as of 1: no retraction yet" 0 '#{}' "$BIN" query "$DB" \
  '[:find ?e ?v :where [?e _ ?v _ false]]' --history --as-of 1

expect "datoms as-of" 0 '[2 :p/name "Bob" 4398046511105]
[2 :p/friend 1 4398046511105]' "$BIN" datoms "$DB" eav 2 --as-of 2
expect "datoms history" 0 '[1 :p/age 40 4398046511105 true]
[1 :p/age 40 4398046511106 false]
[1 :p/age 41 4398046511106 true]' "$BIN" datoms "$DB" eav 1 :p/age --history
expect "datoms ave as-of" 0 '[1 :p/tag :a 4398046511105]
[1 :p/tag :b 4398046511105]' "$BIN" datoms "$DB" ave :p/tag --as-of 1
expect "pull as-of" 0 '{:p/name "Bob", :p/friend {:p/name "Ann", :p/age 40}}' \
  "$BIN" pull "$DB" '[:p/name {:p/friend [:p/name :p/age]}]' '[:p/name "Bob"]' --as-of 1
expect "pull: Bob is gone now (nil, as DataScript)" 0 'nil' \
  "$BIN" pull "$DB" '[:p/name]' '[:p/name "Bob"]'
expect "entity as-of" 0 '{:db/id 2, :p/name "Bob", :p/friend {:db/id 1}}' "$BIN" entity "$DB" 2 --as-of 2
contains_err "entity gone" 2 "has no datoms" "$BIN" entity "$DB" 2
expect "entity since" 0 '{:db/id 1, :p/age 41, :p/tag [:c]}' "$BIN" entity "$DB" 1 --since 1

out=$("$BIN" explain "$DB" "$Q" --as-of 1 2>&1)
case "$out" in *":rows 1"*) pass=$((pass+1));; *) fail=$((fail+1)); echo "FAIL: explain --as-of: $out";; esac
contains_err "bad as-of" 1 "--as-of needs a transaction id or number" "$BIN" query "$DB" "$Q" --as-of x
contains_err "negative as-of" 1 "--as-of needs" "$BIN" query "$DB" "$Q" --as-of -2
contains_err "bad since" 1 "--since needs" "$BIN" datoms "$DB" eav --since '"x"'
contains_err "entity id as tx" 2 "not a transaction id" "$BIN" query "$DB" "$Q" --as-of 4398046511104000000
contains_err "missing as-of value" 1 "as-of" "$BIN" query "$DB" "$Q" --as-of

e2e_done "test_cli_time: "
