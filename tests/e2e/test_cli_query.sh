#!/usr/bin/env bash
# End-to-end tests of the query commands of the datolite binary (query,
# explain, pull): exact output, inputs, errors and exit codes, --repeat's
# timing line, --timeout on a long recursive query.
# Usage: test_cli_query.sh path/to/datolite
set -u
BIN="$1"
. "$(dirname "$0")/lib.sh"
e2e_setup datolite-e2e-q

# {====== help and usage ======
for c in query explain pull; do
  check "$c --help exits 0" 0 "$BIN" $c --help
  contains "$c --help shows usage" "usage: datolite $c" "$BIN" $c --help
  contains "$c --help lists the exit codes" "5 stopped" "$BIN" $c --help
  check "$c without DIR is a usage error" 1 "$BIN" $c
  check "$c with an unknown flag is a usage error" 1 "$BIN" $c --no-such-flag "$T/x" '[]'
done
check "help query exits 0" 0 "$BIN" help query
contains "the command list has query" "query " "$BIN" --help
check "query without QUERY is a usage error" 1 "$BIN" query "$T/x"
check "pull without EID is a usage error" 1 "$BIN" pull "$T/x" '[*]'
check "pull with too many arguments is a usage error" 1 "$BIN" pull "$T/x" '[*]' 1 2
check "query --format other than edn, json, table, csv is a usage error" 1 \
  "$BIN" query --format xml "$T/x" '[:find ?e :where [?e :a]]'
check "pull --format other than edn, json, table, csv is a usage error" 1 \
  "$BIN" pull --format xml "$T/x" '[*]' 1
check "query --timeout 0 is a usage error" 1 "$BIN" query --timeout 0 "$T/x" '[:find ?e :where [?e :a]]'
check "query --timeout x is a usage error" 1 "$BIN" query --timeout x "$T/x" '[:find ?e :where [?e :a]]'
check "query --repeat 0 is a usage error" 1 "$BIN" query --repeat 0 "$T/x" '[:find ?e :where [?e :a]]'
check "query --plan other is a usage error" 1 "$BIN" query --plan fast "$T/x" '[:find ?e :where [?e :a]]'
check "query on a missing database exits 2" 2 "$BIN" query "$T/no-such-db" '[:find ?e :where [?e :a]]'
if [ ! -e "$T/no-such-db" ]; then ok; else bad "querying a missing database created it"; fi
# }======

# {====== a small database: schema, import, transact ======
D="$T/db"
cat >"$T/schema.edn" <<'EOF'
{:person/name   {:db/valueType :db.type/string :db/unique :db.unique/identity}
 :person/age    {:db/valueType :db.type/long}
 :person/friend {:db/valueType :db.type/ref :db/cardinality :db.cardinality/many}
 :person/tags   {:db/valueType :db.type/keyword :db/cardinality :db.cardinality/many}}
EOF
cat >"$T/people.edn" <<'EOF'
[{:db/id 1 :person/name "Ivan" :person/age 25 :person/friend [2 3] :person/tags [:admin]}
 {:db/id 2 :person/name "Petr" :person/age 37 :person/friend [3]}
 {:db/id 3 :person/name "Oleg" :person/age 19}]
EOF
check "schema" 0 "$BIN" schema "$D" "$T/schema.edn"
check "import" 0 "$BIN" import --quiet "$D" "$T/people.edn"
check "transact" 0 "$BIN" transact "$D" '[{:db/id 4 :person/name "Anna" :person/age 45 :person/friend 1}]'

Q_REL='[:find ?n ?a :where [?e :person/name ?n] [?e :person/age ?a]]'
expect "relation: a sorted set, one row per line" 0 '#{["Anna" 45]
  ["Ivan" 25]
  ["Oleg" 19]
  ["Petr" 37]}' "$BIN" query "$D" "$Q_REL"
expect "the map form gives the same" 0 '#{["Anna" 45]
  ["Ivan" 25]
  ["Oleg" 19]
  ["Petr" 37]}' "$BIN" query "$D" \
  '{:find [?n ?a] :where [[?e :person/name ?n] [?e :person/age ?a]]}'
expect "--plan naive gives the same" 0 '#{["Anna" 45]
  ["Ivan" 25]
  ["Oleg" 19]
  ["Petr" 37]}' "$BIN" query --plan naive "$D" "$Q_REL"
expect "--format edn is the default" 0 '#{[19]
  [25]
  [37]
  [45]}' "$BIN" query --format edn "$D" '[:find ?a :where [_ :person/age ?a]]'
expect "--format json: rows as arrays" 0 '[[19],[25],[37],[45]]' \
  "$BIN" query --format json "$D" '[:find ?a :where [_ :person/age ?a]]'
expect "--format csv: a header of the find elements, rows in value order" 0 "$(printf '?n,?a\r\nAnna,45\r\nIvan,25\r\nOleg,19\r\nPetr,37\r')" \
  "$BIN" query --format csv "$D" "$Q_REL"
expect "--format table: aligned columns" 0 '?n   | ?a
-----+---
Anna | 45
Ivan | 25
Oleg | 19
Petr | 37' "$BIN" query --format table "$D" "$Q_REL"
expect "--format csv with :keys names the columns" 0 "$(printf 'name\r\nAnna\r\nIvan\r\nOleg\r\nPetr\r')" \
  "$BIN" query --format csv "$D" '[:find ?n :keys name :where [_ :person/name ?n]]'
expect "collection: a sorted vector" 0 '["Anna"
 "Ivan"
 "Oleg"
 "Petr"]' "$BIN" query "$D" '[:find [?n ...] :where [_ :person/name ?n]]'
expect "scalar" 0 '45' "$BIN" query "$D" '[:find (max ?a) . :where [_ :person/age ?a]]'
expect "scalar of nothing is nil" 0 'nil' \
  "$BIN" query "$D" '[:find ?a . :where [?e :person/name "Nobody"] [?e :person/age ?a]]'
expect "tuple" 0 '["Ivan" 25]' "$BIN" query "$D" \
  '[:find [?n ?a] :where [?e :person/name "Ivan"] [?e :person/name ?n] [?e :person/age ?a]]'
expect "empty relation" 0 '#{}' "$BIN" query "$D" '[:find ?e :where [?e :person/age 99]]'
expect "aggregates with grouping" 0 '#{[1 2]
  [2 1]
  [4 1]}' "$BIN" query "$D" '[:find ?e (count ?f) :where [?e :person/friend ?f]]'
expect "count" 0 '#{[4]}' "$BIN" query "$D" '[:find (count ?e) :where [?e :person/name]]'
expect ":keys rows are maps" 0 '#{{:name "Oleg", :age 19}}' "$BIN" query "$D" \
  '[:find ?n ?a :keys name age :where [?e :person/name ?n] [?e :person/age ?a] [(< ?a 20)]]'
expect "ref values print as entity ids" 0 '#{[1 2]
  [1 3]
  [2 3]
  [4 1]}' "$BIN" query "$D" '[:find ?e ?f :where [?e :person/friend ?f]]'
expect "query from stdin" 0 '#{["Oleg"]}' "$BIN" query "$D" - <<<'[:find ?n
 :where [?e :person/name ?n] [?e :person/age ?a] [(< ?a 20)]]'

Q_IN='[:find ?a :in $ ?n :where [?e :person/name ?n] [?e :person/age ?a]]'
expect "an input after \$ (the database fills \$)" 0 '#{[37]}' "$BIN" query "$D" "$Q_IN" '"Petr"'
expect "an explicit \$ input" 0 '#{[37]}' "$BIN" query "$D" "$Q_IN" '$' '"Petr"'
expect "\$ in another position" 0 '#{[37]}' "$BIN" query "$D" \
  '[:find ?a :in ?n $ :where [?e :person/name ?n] [?e :person/age ?a]]' '"Petr"' '$'
expect "a collection input" 0 '#{["Ivan"]
  ["Petr"]}' "$BIN" query "$D" \
  '[:find ?n :in $ [?a ...] :where [?e :person/age ?a] [?e :person/name ?n]]' '[25 37 99]'
expect "a relation input" 0 '#{["Ivan" "x"]
  ["Oleg" "y"]}' "$BIN" query "$D" \
  '[:find ?n ?t :in $ [[?a ?t]] :where [?e :person/age ?a] [?e :person/name ?n]]' '[[25 "x"] [19 "y"]]'
expect "a lookup ref input" 0 '#{[25]}' "$BIN" query "$D" \
  '[:find ?a :in $ ?e :where [?e :person/age ?a]]' '[:person/name "Ivan"]'
expect "an input without a database" 0 '#{[3]}' "$BIN" query "$D" '[:find ?y :in ?x :where [(inc ?x) ?y]]' '2'
RULES='[[(reach ?x ?y) [?x :person/friend ?y]] [(reach ?x ?y) [?x :person/friend ?z] (reach ?z ?y)]]'
expect "recursive rules as the % input" 0 '#{["Ivan"]
  ["Oleg"]
  ["Petr"]}' "$BIN" query "$D" \
  '[:find ?n :in $ % :where [?a :person/name "Anna"] (reach ?a ?f) [?f :person/name ?n]]' "$RULES"
check "too few inputs exits 2" 2 "$BIN" query "$D" '[:find ?a :in $ ?n ?m :where [?e :person/age ?a]]' '1'
contains "too few inputs says how many" "takes 3 inputs" \
  "$BIN" query "$D" '[:find ?a :in $ ?n ?m :where [?e :person/age ?a]]' '1'
check "an input to a query without :in exits 2" 2 "$BIN" query "$D" "$Q_REL" '1'
check "a malformed input exits 2" 2 "$BIN" query "$D" "$Q_IN" '"Petr'

# the output reads back: feed it to a query as an input
OUT=$("$BIN" query "$D" "$Q_REL")
expect "a relation's output reads back as EDN" 0 '4' "$BIN" query "$D" '[:find (count ?r) . :in [?r ...] :where [(some? ?r)]]' "$OUT"

# errors
check "malformed EDN exits 2" 2 "$BIN" query "$D" '[:find ?e :where [?e :person/name'
contains "malformed EDN names the position" "1:" "$BIN" query "$D" '[:find ?e :where [?e :person/name'
check "an unknown function exits 2" 2 "$BIN" query "$D" '[:find ?e :where [?e :person/age ?a] [(frob ?a)]]'
contains "an unknown function is named" "frob" "$BIN" query "$D" '[:find ?e :where [?e :person/age ?a] [(frob ?a)]]'
# a namespaced name could be a query function the host registers; the CLI registers none
check "an unregistered query function exits 2" 2 "$BIN" query "$D" '[:find ?e :where [?e :person/age ?a] [(acme/frob ?a)]]'
contains "an unregistered query function is named" "unknown function acme/frob" "$BIN" query "$D" '[:find ?e :where [?e :person/age ?a] [(acme/frob ?a)]]'
check "an unbound variable in a predicate exits 2" 2 "$BIN" query "$D" '[:find ?e :where [?e :person/age ?a] [(< ?b 3)]]'
check "a find variable not in :where exits 2" 2 "$BIN" query "$D" '[:find ?x :where [?e :person/age ?a]]'
check "an empty query from stdin exits 2" 2 "$BIN" query "$D" - </dev/null

# --repeat: the result once on stdout, exactly one timing line on stderr
out=$("$BIN" query --repeat 5 "$D" "$Q_REL" 2>"$T/rep-err"); rc=$?
if [ "$rc" -eq 0 ] && [ "$out" = "$("$BIN" query "$D" "$Q_REL")" ]; then ok; else
  bad "--repeat prints the result once: exit $rc: $out"; fi
if [ "$(wc -l <"$T/rep-err")" -eq 1 ] &&
   grep -Eq '^min [0-9]+\.[0-9]+ ms, median [0-9]+\.[0-9]+ ms$' "$T/rep-err"; then ok; else
  bad "--repeat's stderr is one 'min <ms> ms, median <ms> ms' line: $(cat "$T/rep-err")"; fi
"$BIN" query "$D" "$Q_REL" >/dev/null 2>"$T/norep-err"
if [ ! -s "$T/norep-err" ]; then ok; else bad "query without --repeat prints on stderr: $(cat "$T/norep-err")"; fi

# --max-rows
check "--max-rows below the result's size exits 2" 2 "$BIN" query --max-rows 2 "$D" \
  '[:find ?a ?b :where [_ :person/age ?a] [_ :person/age ?b]]'
# }======

# {====== explain ======
"$BIN" explain "$D" "$Q_IN" '"Petr"' >"$T/plan" 2>"$T/plan-err"; rc=$?
if [ "$rc" -eq 0 ] && [ -s "$T/plan" ] && sane "$(cat "$T/plan-err")"; then ok; else
  bad "explain exits 0 with a plan: exit $rc: $(cat "$T/plan" "$T/plan-err")"; fi
if grep -q ':steps' "$T/plan" && grep -q ':est ' "$T/plan" && grep -q ':rows ' "$T/plan"; then ok; else
  bad "the plan has :steps with :est and :rows: $(cat "$T/plan")"; fi
check "the plan reads back as EDN" 0 "$BIN" query "$D" '[:find ?p . :in ?p :where [(some? ?p)]]' "$(cat "$T/plan")"
check "explain of a malformed query exits 2" 2 "$BIN" explain "$D" '[:find ?e :where'
check "explain with too few inputs exits 2" 2 "$BIN" explain "$D" '[:find ?a :in $ ?n ?m :where [?e :person/age ?a]]'
check "explain from stdin" 0 "$BIN" explain "$D" - <<<"$Q_REL"
# }======

# {====== pull ======
expect "pull with a nested ref" 0 '{:person/name "Petr", :person/friend [{:person/name "Oleg"}]}' \
  "$BIN" pull "$D" '[:person/name {:person/friend [:person/name]}]' 2
expect "pull --format json" 0 '{":person/name":"Petr",":person/friend":[{":person/name":"Oleg"}]}' \
  "$BIN" pull --format json "$D" '[:person/name {:person/friend [:person/name]}]' 2
expect "pull by lookup ref" 0 '{:person/name "Oleg", :person/age 19}' \
  "$BIN" pull "$D" '[:person/name :person/age]' '[:person/name "Oleg"]'
expect "pull :db/id and a reverse ref" 0 '{:db/id 3, :person/_friend [{:db/id 1} {:db/id 2}]}' \
  "$BIN" pull "$D" '[:db/id :person/_friend]' 3
expect "pull of a missing entity is nil" 0 'nil' "$BIN" pull "$D" '[:person/name]' 999
expect "pull pattern from stdin" 0 '{:person/age 45}' "$BIN" pull "$D" - 4 <<<'[:person/age]'
expect "pull of an unknown lookup ref is nil (as DataScript)" 0 'nil' "$BIN" pull "$D" '[*]' '[:person/name "Nobody"]'
check "pull with a malformed pattern exits 2" 2 "$BIN" pull "$D" '[:person/name' 1
check "pull with a malformed EID exits 2" 2 "$BIN" pull "$D" '[*]' '[:person/name'
check "pull on a missing database exits 2" 2 "$BIN" pull "$T/no-such-db" '[*]' 1
# }======

# {====== --timeout on a long recursive query ======
C="$T/chain"
N=2500
{
  echo '['
  i=1
  while [ $i -lt $N ]; do echo "[:db/add $i :next $((i+1))]"; i=$((i+1)); done
  echo ']'
} >"$T/chain.edn"
check "chain schema" 0 "$BIN" schema "$C" - <<<'{:next {:db/valueType :db.type/ref}}'
check "chain import" 0 "$BIN" import --quiet "$C" "$T/chain.edn"
CR='[[(r ?x ?y) [?x :next ?y]] [(r ?x ?y) [?x :next ?z] (r ?z ?y)]]'
CQ='[:find (count ?x) . :in $ % :where (r ?x ?y)]'
start=$(date +%s%N)
"$BIN" query --timeout 50 "$C" "$CQ" "$CR" >"$T/to-out" 2>"$T/to-err"; rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
if [ "$rc" -eq 5 ]; then ok; else bad "--timeout 50 on a closure of $N nodes exits 5, got $rc: $(cat "$T/to-out" "$T/to-err")"; fi
if grep -q "datolite query: .*--timeout 50 ms" "$T/to-err" && [ ! -s "$T/to-out" ]; then ok; else
  bad "--timeout message: $(cat "$T/to-err")"; fi
# stopping is prompt: well under the time of the whole closure
if [ "$ms" -lt 5000 ]; then ok; else bad "--timeout 50 took $ms ms to stop"; fi
# Ctrl-C (SIGINT) cancels the running query: exit 5, "cancelled"
if command -v timeout >/dev/null; then
  timeout --preserve-status -s INT 0.3 "$BIN" query "$C" "$CQ" "$CR" >"$T/int-out" 2>"$T/int-err"; rc=$?
  if [ "$rc" -eq 5 ] && grep -q "cancelled" "$T/int-err" && [ ! -s "$T/int-out" ]; then ok; else
    bad "SIGINT stops the query with exit 5: exit $rc: $(cat "$T/int-out" "$T/int-err")"; fi
fi
check "the same query without the deadline on a short chain" 0 "$BIN" query "$D" \
  '[:find (count ?y) . :in $ % :where [?a :person/name "Anna"] (reach ?a ?y)]' "$RULES"
# }======

e2e_done
