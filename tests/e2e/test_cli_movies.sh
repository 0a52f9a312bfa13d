#!/usr/bin/env bash
# The public mini-JOB queries (q01-q08 of bench/movies in the shared
# folder) through `datolite query`: generate the movies data (seed 42,
# scale 1), load it with `schema` and `import`, run each query with its
# inputs and compare the result with expected/qNN.edn as a set of rows.
# Usage: test_cli_movies.sh path/to/datolite shared-dir
# MOVIES_DATA=DIR reuses a generated data folder (movies.edn,
# movies-schema.edn) instead of generating one; MOVIES_TIMEOUT_MS is the
# deadline of each query (default 60000).  Needs python3.
set -u
BIN="$1"
SHARED="${2:-}"
export LC_ALL=C
M="$SHARED/bench/movies"
if [ -z "$SHARED" ] || [ ! -f "$M/queries.edn" ] || ! command -v python3 >/dev/null; then
  echo "skipped: no $M/queries.edn or no python3"
  exit 0
fi
. "$(dirname "$0")/lib.sh"
e2e_setup datolite-movies

DATA="${MOVIES_DATA:-$T/data}"
if [ ! -f "$DATA/movies.edn" ]; then
  t0=$(date +%s)
  python3 "$M/gen_movies.py" --seed 42 --scale 1 --out "$DATA" >/dev/null || {
    echo "FAIL: gen_movies.py"; exit 1; }
  echo "generated the data in $(( $(date +%s) - t0 )) s"
fi
DB="$T/db"
t0=$(date +%s%N)
"$BIN" schema "$DB" "$M/movies-schema.edn" >/dev/null || { echo "FAIL: schema"; exit 1; }
"$BIN" import --quiet "$DB" "$DATA/movies.edn" >/dev/null || { echo "FAIL: import"; exit 1; }
echo "loaded in $(( ($(date +%s%N) - t0) / 1000000 )) ms"

# queries.edn -> one folder per query: query (text) and inputs (one EDN
# text per line; none has a newline).  A small reader for the EDN strings
# of this file (escapes \" \\ \n \t).
python3 - "$M/queries.edn" "$T/q" <<'EOF'
import os, re, sys
text = open(sys.argv[1], encoding="utf-8").read()
STR = r'"((?:[^"\\]|\\.)*)"'
def unescape(s):
    return re.sub(r'\\(.)', lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), s)
for m in re.finditer(r':id ' + STR + r'.*?:query ' + STR + r'\s*:inputs \[((?:\s*' + STR + r')*)\s*\]',
                     text, re.S):
    qid, query, inputs = m.group(1), unescape(m.group(2)), m.group(3)
    d = os.path.join(sys.argv[2], qid)
    os.makedirs(d)
    open(os.path.join(d, "query"), "w", encoding="utf-8").write(query)
    with open(os.path.join(d, "inputs"), "w", encoding="utf-8") as f:
        for i in re.finditer(STR, inputs):
            f.write(unescape(i.group(1)) + "\n")
EOF

# The rows of a printed set, one per line, sorted.
rows() { sed -e '1s/^#{//' -e '$s/}$//' -e 's/^ *//' "$1" | grep -v '^$' | sort; }

n=0
total_ms=0
for d in "$T"/q/q*; do
  id=$(basename "$d")
  n=$((n+1))
  want="$M/expected/$id.edn"
  mapfile -t inputs <"$d/inputs"
  t0=$(date +%s%N)
  "$BIN" query --timeout "${MOVIES_TIMEOUT_MS:-60000}" "$DB" "$(cat "$d/query")" "${inputs[@]}" >"$T/$id.out" 2>"$T/$id.err"
  rc=$?
  ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  total_ms=$((total_ms + ms))
  if [ "$rc" -ne 0 ]; then bad "$id: exit $rc: $(cat "$T/$id.err")"; continue; fi
  rows "$T/$id.out" >"$T/$id.got"
  rows "$want" >"$T/$id.want"
  if cmp -s "$T/$id.got" "$T/$id.want"; then
    ok; echo "$id: $(wc -l <"$T/$id.got") rows, $ms ms (process included)"
  else
    bad "$id: the rows differ from expected/$id.edn (< missing, > unexpected)"
    diff "$T/$id.want" "$T/$id.got" | head -10
  fi
done
if [ "$n" -eq 8 ]; then ok; else bad "queries.edn gave $n queries, wanted 8"; fi
echo "queries: $total_ms ms in all"
e2e_done
