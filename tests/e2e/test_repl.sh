#!/usr/bin/env bash
# End-to-end tests of the REPL in script mode and of the whole-database
# commands (dump, load, stat, copy, entity), the output formats, and the
# REPL on a pseudo-terminal (repl_pty.py).
# Usage: test_repl.sh path/to/datolite
set -u
BIN="$1"
HERE="$(cd "$(dirname "$0")" && pwd)"
LIB="$HERE/../../examples/library"
. "$(dirname "$0")/lib.sh"
e2e_setup datolite-repl
json_ok() { # name, command...: stdout parses as JSON
  local name="$1"; shift
  if "$@" 2>"$T/stderr" | python3 -m json.tool >/dev/null 2>&1; then ok; else
    bad "$name: not JSON: $("$@" 2>&1 | head -c 300)"; fi
}
# the REPL in script mode: repl DIR <<< text
repl() { local dir="$1"; shift; printf '%s\n' "$@" | "$BIN" "$dir"; }

DB="$T/lib"
"$BIN" schema "$DB" "$LIB/schema.edn" >/dev/null || bad "schema of the sample"
"$BIN" import --quiet --batch 300 "$DB" "$LIB/data.edn" >/dev/null || bad "import of the sample"
# a second transaction with metadata on the transaction entity, and every value type
"$BIN" transact "$DB" '[[:db/add :db/current-tx :tx/note "types"]
  {:db/id "x" :t/bi 12345678901234567890N :t/bd 1.50M :t/d 2.5 :t/kw :a/b
   :t/u #uuid "550e8400-e29b-41d4-a716-446655440000" :t/tup [1 "a"] :t/s "q\"uote,comma"
   :t/when #inst "2024-02-29T12:30:00.000-00:00" :t/bytes #bytes "AQID" :t/flag false}]' \
  >/dev/null || bad "typed transaction"
X=$("$BIN" datoms "$DB" ave :t/flag false | sed -E 's/^\[([0-9]+) .*/\1/')

# {====== help and usage ======
for c in dump load stat copy entity repl; do
  check "$c --help exits 0" 0 "$BIN" "$c" --help
  contains "$c --help lists the exit codes" "Exit codes" "$BIN" "$c" --help
  check "$c with a bad option" 1 "$BIN" "$c" --frobnicate
done
check "dump without DIR" 1 "$BIN" dump
check "load without FILE" 1 "$BIN" load "$T/x"
check "stat without DIR" 1 "$BIN" stat
check "copy without DEST" 1 "$BIN" copy "$DB"
check "entity without EID" 1 "$BIN" entity "$DB"
check "dump --format bad" 1 "$BIN" dump --format xml "$DB"
check "entity --format bad" 1 "$BIN" entity --format xml "$DB" 1
check "REPL with two DIRs" 1 "$BIN" "$T/a" "$T/b"
check "REPL --format bad" 1 "$BIN" --format xml "$T/a"
contains "global help names the REPL" "datolite [--format F] [DIR]" "$BIN" --help
# }======

# {====== stat ======
contains "stat counts datoms" ":datoms 7132" "$BIN" stat "$DB"
contains "stat counts entities" ":entities 1595" "$BIN" stat "$DB"
contains "stat counts transactions" ":transactions 5" "$BIN" stat "$DB"
contains "stat lists attributes with counts" ":book/title {:count 320, :distinct 320}" "$BIN" stat "$DB"
contains "stat shows free pages" ":free-pages" "$BIN" stat "$DB"
contains "stat shows readers" ":readers" "$BIN" stat "$DB"
json_ok "stat --format json" "$BIN" stat --format json "$DB"
check "stat of a missing directory" 2 "$BIN" stat "$T/missing"
[ ! -e "$T/missing" ] && ok || bad "stat created a directory"
printf 'garbage' > "$T/notdb"; mkdir -p "$T/garbage"; cp "$T/notdb" "$T/garbage/data.mdb"
check "stat of a garbage file" 4 "$BIN" stat "$T/garbage"
# }======

# {====== dump and load ======
check "dump exits 0" 0 "$BIN" dump --quiet "$DB" "$T/dump.edn"
contains "dump starts with its header" "{:datolite/dump 1, :schema {" head -c 40 "$T/dump.edn"
check "load exits 0" 0 "$BIN" load --quiet "$T/db2" "$T/dump.edn"
"$BIN" datoms --tx "$DB" eav > "$T/a.txt"; "$BIN" datoms --tx "$T/db2" eav > "$T/b.txt"
cmp -s "$T/a.txt" "$T/b.txt" && ok || bad "dump -> load: the datoms (with tx ids) differ"
"$BIN" datoms --tx "$DB" ave > "$T/a.txt"; "$BIN" datoms --tx "$T/db2" ave > "$T/b.txt"
cmp -s "$T/a.txt" "$T/b.txt" && ok || bad "dump -> load: the AVE index differs"
"$BIN" schema "$DB" > "$T/a.txt"; "$BIN" schema "$T/db2" > "$T/b.txt"
cmp -s "$T/a.txt" "$T/b.txt" && ok || bad "dump -> load: the schema differs"
"$BIN" dump "$T/db2" | cmp -s - "$T/dump.edn" && ok || bad "dump of the loaded copy differs"
[ "$(wc -l < "$T/dump.edn")" -eq 6 ] && ok || bad "dump: one line per transaction + header"
check "dump --format msgpack" 0 "$BIN" dump --format msgpack "$DB" "$T/dump.mp"
expect "load msgpack (format detected)" 0 "{:transactions 5, :datoms 7132}" \
  "$BIN" load "$T/db3" "$T/dump.mp"
"$BIN" datoms --tx "$T/db3" eav | cmp -s - <("$BIN" datoms --tx "$DB" eav) && ok \
  || bad "msgpack dump -> load differs"
expect "load from stdin" 0 "{:transactions 5, :datoms 7132}" \
  sh -c "\"$BIN\" dump \"$DB\" | \"$BIN\" load \"$T/db4\" -"
check "load into a database with datoms" 3 "$BIN" load "$T/db2" "$T/dump.edn"
check "load of a missing file" 2 "$BIN" load "$T/db5" "$T/nofile.edn"
echo '[1 2 3]' > "$T/notdump.edn"
check "load of something else" 2 "$BIN" load "$T/db5" "$T/notdump.edn"
head -c 2000 "$T/dump.edn" > "$T/cut.edn"
check "load of a cut dump" 2 "$BIN" load "$T/db6" "$T/cut.edn"
check "nothing was written by the failed load" 0 test -z "$("$BIN" datoms "$T/db6" eav 2>/dev/null)"
# a load larger than the initial map (64 MiB): the replay runs again once the map has grown
python3 -c "
import sys
w = sys.stdout.write
for e in range(1, 140001):
    w('[%d :p/name \"person number %d with a fairly long name to fill the pages\"]\n' % (e, e))
    w('[%d :p/age %d]\n[%d :p/email \"p%d@example.org\"]\n' % (e, e % 90, e, e))
" | "$BIN" init-db --quiet "$T/big" - >/dev/null || bad "init-db of the large database"
"$BIN" dump --quiet --format msgpack "$T/big" "$T/big.mp" || bad "dump of the large database"
expect "load beyond the initial map size" 0 "{:transactions 1, :datoms 420001}" \
  "$BIN" load --quiet "$T/big2" "$T/big.mp"
"$BIN" datoms --tx "$T/big2" ave | cmp -s - <("$BIN" datoms --tx "$T/big" ave) && ok \
  || bad "large dump -> load differs"
rm -rf "$T/big" "$T/big2" "$T/big.mp"
check "dump of a missing database" 2 "$BIN" dump "$T/missing"
# }======

# {====== copy ======
check "copy exits 0" 0 "$BIN" copy --quiet "$DB" "$T/copy1"
"$BIN" datoms --tx "$T/copy1" eav | cmp -s - <("$BIN" datoms --tx "$DB" eav) && ok || bad "copy differs"
check "copy --compact" 0 "$BIN" copy --compact "$DB" "$T/copy2"
"$BIN" datoms --tx "$T/copy2" eav | cmp -s - <("$BIN" datoms --tx "$DB" eav) && ok || bad "compact copy differs"
check "copy onto a database" 4 "$BIN" copy "$DB" "$T/copy1"
check "copy of a missing database" 2 "$BIN" copy "$T/missing" "$T/copy3"
# }======

# {====== entity and output formats ======
expect "entity as EDN" 0 '{:db/id 1, :branch/name "Central", :branch/city "Lisbon"}' \
  "$BIN" entity "$DB" 1
expect "entity by lookup ref, table" 0 'attribute    | value
-------------+--------
:db/id       | 1
:branch/name | Central
:branch/city | Lisbon' "$BIN" entity --format table "$DB" '[:branch/name "Central"]'
expect "entity as CSV" 0 "$(printf 'attribute,value\r\n:db/id,1\r\n:branch/name,Central\r\n:branch/city,Lisbon\r')" \
  "$BIN" entity --format csv "$DB" 1
json_ok "entity as JSON" "$BIN" entity --format json "$DB" "$X"
out=$("$BIN" entity --format json "$DB" "$X")
python3 - "$out" <<'PY' && ok || bad "JSON mapping of every type: $out"
import json, sys
m = json.loads(sys.argv[1])
assert m[":t/bi"] == "12345678901234567890", m
assert m[":t/bd"] == "1.50", m
assert m[":t/d"] == 2.5
assert m[":t/kw"] == ":a/b"
assert m[":t/u"] == "550e8400-e29b-41d4-a716-446655440000"
assert m[":t/tup"] == [1, "a"]
assert m[":t/s"] == 'q"uote,comma'
assert m[":t/when"] == "2024-02-29T12:30:00.000Z"
assert m[":t/flag"] is False
PY
"$BIN" transact "$T/num" '[{:db/id "x" :n/a ##NaN :n/b ##-Inf :n/c 1.0 :n/e 1e300 :n/f -0.5}]' >/dev/null
expect "JSON numbers: NaN and infinities as strings, 1.0 stays a float" 0 \
  '{":db/id":1,":n/a":"NaN",":n/b":"-Infinity",":n/c":1.0,":n/e":1e+300,":n/f":-0.5}' \
  "$BIN" entity --format json "$T/num" 1
out=$("$BIN" entity --format csv "$DB" "$X")
case "$out" in *':t/s,"q""uote,comma"'*) ok;; *) bad "CSV quoting: $out";; esac
json_ok "a component pull as JSON" "$BIN" entity --format json "$DB" '[:book/isbn "978-5-2887-001-9"]'
check "entity that has no datoms" 2 "$BIN" entity "$DB" 99999
check "entity by a lookup ref that matches nothing" 2 "$BIN" entity "$DB" '[:branch/name "Nowhere"]'
check "entity with malformed EDN" 2 "$BIN" entity "$DB" '[:branch/name'
expect "entity EID from stdin" 0 '{:db/id 1, :branch/name "Central", :branch/city "Lisbon"}' \
  sh -c "echo 1 | \"$BIN\" entity \"$DB\" -"
# the message names the EID read from stdin (it outlives the input buffer)
contains "entity from stdin that has no datoms" "entity 99999" \
  sh -c "echo 99999 | \"$BIN\" entity \"$DB\" -"
check "entity of a missing database" 2 "$BIN" entity "$T/missing" 1
json_ok "datoms --format json" "$BIN" datoms --format json "$DB" eav 1
expect "datoms --format csv" 0 "$(printf 'e,a,v,tx\r\n1,:branch/name,Central,4398046511105\r\n1,:branch/city,Lisbon,4398046511105\r')" \
  "$BIN" datoms --format csv "$DB" eav 1
# }======

# {====== the REPL in script mode ======
expect "script: .schema ATTR" 0 '{:db/valueType :db.type/string,
 :db/cardinality :db.cardinality/one,
 :db/unique :db.unique/identity}
datoms: 5, distinct values: 5, from Central to University' repl "$DB" '.schema :branch/name'
expect "script: .datoms as a table" 0 'e | a            | v       | tx
--+--------------+---------+--------------
1 | :branch/name | Central | 4398046511105
1 | :branch/city | Lisbon  | 4398046511105
(2 rows)' repl "$DB" '.datoms eav 1'
expect "script: .format json, multi-line .datoms" 0 '[[1,":branch/name","Central",4398046511105],[1,":branch/city","Lisbon",4398046511105]]' \
  repl "$DB" '.format json' '.datoms eav [:branch/name' '  "Central"]'
expect "script: .tx then .entity (edn)" 0 '{:tx 4398046511110, :tempids {"n" 1596}, :datoms 3}
{:db/id 1596, :branch/name "North", :branch/city "Braga"}' \
  repl "$T/db2" '.format edn' '.tx [{:db/id "n"' ':branch/name "North" :branch/city "Braga"}]' '.entity [:branch/name "North"]'
expect "script: .tx alone waits for its tx-data" 0 '{:tx 4398046511105, :tempids {}, :datoms 2}' \
  repl "$T/txwait" '.format edn' '.tx' '  [{:a/b 1}]'
check "script: .tx without tx-data at the end" 1 repl "$T/txwait" '.tx'
expect "script: comments and blank lines" 0 '' repl "$DB" '; a comment' '' '   '
check "script: an error exits with its code" 2 repl "$DB" '.entity [:branch/name "Nowhere"]'
check "script: .entity of an id without datoms" 2 repl "$DB" '.entity 999999'
contains "script: .entity of an id without datoms says so" "entity 999999 has no datoms" repl "$DB" '.entity 999999'
contains "script: errors name the line" "<stdin>:3:" repl "$DB" '.format edn' '' '.bogus'
check "script: unknown command" 1 repl "$DB" '.bogus'
check "script: malformed input" 2 repl "$DB" '.tx [{:a 1}]]'
check "script: unclosed input at the end" 2 repl "$DB" '.tx [{:db/id "a"'
check "script: a refused transaction" 3 repl "$T/db2" '.tx [[:db/add 2 :branch/name "Central"]]'
contains "script: not a query" "not a query" repl "$DB" '{:a 1}'
check "script: not a query exits 2" 2 repl "$DB" '{:a 1}'
contains "script: .help lists every command" ".import FILE" repl "$DB" '.help'
for c in .schema .stat .tx .transact .pull .entity .datoms .explain .in .format .timer .read .import .open .quit; do
  contains "script: .help explains $c" "  $c" repl "$DB" '.help'
done
printf '.format csv\n.datoms eav 2\n' > "$T/script.edn"
expect "script: .read FILE" 0 "$(printf 'e,a,v,tx\r\n2,:branch/name,Riverside,4398046511105\r\n2,:branch/city,Lisbon,4398046511105\r')" \
  repl "$DB" ".read $T/script.edn"
printf '[{:db/id "m" :branch/name "South" :branch/city "Faro"}]\n' > "$T/more.edn"
contains "script: .import FILE" "1 transaction" repl "$T/db2" ".import $T/more.edn"
contains "script: .open DIR" "Faro" repl "$DB" ".open $T/db2" '.entity [:branch/name "South"]'
expect "script: .quit stops" 0 '' repl "$DB" '.quit' '.bogus'
contains "script: .stat" ":datoms 7132" repl "$DB" '.stat'
expect "datolite DIR < script.edn" 0 "edn" sh -c "printf '.format edn\n.format\n' | \"$BIN\" \"$DB\""
# queries (when the engine is in the build)
if repl "$DB" '[:find ?e :where [?e :branch/name]]' 2>&1 | grep -q "no query engine"; then
  echo "note: this build has no query engine: query tests skipped"
else
  expect "script: a multi-line query as a table" 0 '?name      | ?city
-----------+--------
Central    | Lisbon
Harbour    | Porto
Old Town   | Porto
Riverside  | Lisbon
University | Coimbra
(5 rows)' repl "$DB" '[:find ?name ?city' ' :where [?b :branch/name ?name]' '        [?b :branch/city ?city]]'
  expect "script: brackets in strings and comments do not count" 0 '?n
--
(0 rows)' repl "$DB" '[:find ?n ; a comment with [ and {' ' :where [?b :branch/name ?n]' ' [(= ?n "a]b}[")]]'
  json_ok "script: a query as JSON" repl "$DB" '.format json' '[:find ?t ?y :where [?b :book/title ?t] [?b :book/year ?y]]'
  expect "script: .in gives the inputs" 0 '?t
-------------------
Pride and Prejudice
(1 row)' repl "$DB" '.in 1813' '[:find ?t :in $ ?y :where [?b :book/year ?y] [?b :book/title ?t]]'
  check "script: a missing input" 2 repl "$DB" '[:find ?t :in $ ?y :where [?b :book/year ?y] [?b :book/title ?t]]'
  expect "script: a scalar" 0 '320' repl "$DB" '.format edn' '[:find (count ?b) . :where [?b :book/title]]'
  contains "script: the timer" "Run time: " repl "$DB" '.timer on' '[:find ?e :where [?e :branch/city "Faro"]]'
  check "script: a query error exits 2" 2 repl "$DB" '[:find ?e :where [?e :no/such ?v]]'
  expect "script: .limit cuts a table with a note" 0 '?n
--------
Central
Harbour
Old Town
(3 of 5 rows shown; .limit 0 or .format csv shows all)' repl "$DB" '.limit 3' '[:find ?n :where [_ :branch/name ?n]]'
  expect "script: :keys as JSON objects" 0 '[{":name":"Harbour",":city":"Porto"},{":name":"Old Town",":city":"Porto"}]' \
    repl "$DB" '.format json' '[:find ?n ?c :keys name city :where [?b :branch/name ?n] [?b :branch/city ?c] [(= ?c "Porto")]]'
  expect "script: :keys names the columns" 0 'name     | city
---------+------
Harbour  | Porto
Old Town | Porto
(2 rows)' repl "$DB" '[:find ?n ?c :keys name city :where [?b :branch/name ?n] [?b :branch/city ?c] [(= ?c "Porto")]]'
  expect "script: a tuple find" 0 '?n      | ?c
--------+-------
Central | Lisbon
(1 row)' repl "$DB" '[:find [?n ?c] :where [?b :branch/name ?n] [?b :branch/city ?c] [(= ?n "Central")]]'
  expect "script: .pull" 0 'attribute    | value
-------------+-------------------------------
:book/title  | Emma
:book/author | [{:author/name "Jane Austen"}]' repl "$DB" '.pull [:book/title {:book/author [:author/name]}] [:book/isbn "978-5-2887-001-9"]'
  expect "script: map form, csv" 0 "$(printf '?n\r\nCentral\r\n')" repl "$DB" '.format csv' '{:find [?n] :where [[?b :branch/name ?n] [?b :branch/city "Lisbon"] [(< ?n "D")]]}'
fi
  # a program talking to the REPL through pipes gets each answer at once
  python3 - "$BIN" "$DB" <<'PY' && ok || bad "script mode answers each form as it comes"
import subprocess, sys
p = subprocess.Popen([sys.argv[1], sys.argv[2]], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                     text=True)
p.stdin.write(".format edn\n[:find (count ?b) .\n :where [?b :book/title]]\n")
p.stdin.flush()
assert p.stdout.readline().strip() == "320"
p.stdin.write("[:find (count ?a) . :where [?a :author/name]]\n")
p.stdin.flush()
assert p.stdout.readline().strip() == "70"
p.stdin.close()
assert p.wait() == 0
PY
# }======

# {====== progress lines: none when stderr is not a terminal ======
"$BIN" schema "$T/prog" "$LIB/schema.edn" >/dev/null
"$BIN" import --batch 50 "$T/prog" "$LIB/data.edn" >/dev/null 2>"$T/prog.err"
case "$(cat "$T/prog.err")" in *committed*|*$'\r'*) bad "import: progress on a non-terminal";; *) ok;; esac
"$BIN" dump "$T/prog" "$T/prog.edn" 2>"$T/prog.err"; [ ! -s "$T/prog.err" ] && ok || bad "dump wrote to stderr"
"$BIN" load "$T/prog2" "$T/prog.edn" >/dev/null 2>"$T/prog.err"; [ ! -s "$T/prog.err" ] && ok || bad "load wrote to stderr"
# }======

# {====== the REPL on a terminal ======
if python3 "$HERE/repl_pty.py" "$BIN" "$DB" "$T"; then ok; else bad "REPL on a pseudo-terminal (repl_pty.py)"; fi
# }======

e2e_done "test_repl: "
