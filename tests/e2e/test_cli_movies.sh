#!/usr/bin/env bash
# The public mini-JOB queries (q01-q08 of bench/movies in the shared
# folder), and the queries of any further QUERIES.edn files given (the
# same format, with expected/ beside them: benchmarks/movies-extra),
# through `datolite query`: generate the movies data (seed 42, scale 1),
# load it with `schema` and `import`, run each query with its inputs and
# compare the result with expected/ID.edn as a set of rows.
# Usage: test_cli_movies.sh path/to/datolite shared-dir [QUERIES.edn...]
# MOVIES_DATA=DIR reuses a generated data folder (movies.edn,
# movies-schema.edn) instead of generating one; MOVIES_TIMEOUT_MS is the
# deadline of each query (default 20000); MOVIES_NAIVE=1 also runs the
# further queries with --plan naive (the reference evaluator, seconds per
# query).  Needs python3.
set -u
BIN="$1"
SHARED="${2:-}"
shift 2 2>/dev/null || shift $#
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

# A queries.edn -> one folder per query under DIR: query (text), inputs
# (one EDN text per line; none has a newline) and want (the expected
# result's path).  A small reader for the EDN strings of these files
# (escapes \" \\ \n \t).
split_queries() { # QUERIES.edn DIR
python3 - "$1" "$2" <<'EOF'
import os, re, sys
text = open(sys.argv[1], encoding="utf-8").read()
exp = os.path.join(os.path.dirname(os.path.abspath(sys.argv[1])), "expected")
STR = r'"((?:[^"\\]|\\.)*)"'
def unescape(s):
    return re.sub(r'\\(.)', lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), s)
for m in re.finditer(r':id ' + STR + r'.*?:query ' + STR + r'\s*:inputs \[((?:\s*' + STR + r')*)\s*\]',
                     text, re.S):
    qid, query, inputs = m.group(1), unescape(m.group(2)), m.group(3)
    d = os.path.join(sys.argv[2], qid)
    os.makedirs(d)
    open(os.path.join(d, "query"), "w", encoding="utf-8").write(query)
    open(os.path.join(d, "want"), "w", encoding="utf-8").write(os.path.join(exp, qid + ".edn"))
    with open(os.path.join(d, "inputs"), "w", encoding="utf-8") as f:
        for i in re.finditer(STR, inputs):
            f.write(unescape(i.group(1)) + "\n")
EOF
}

# The rows of a printed set, one per line, sorted.
rows() { sed -e '1s/^#{//' -e '$s/}$//' -e 's/^ *//' "$1" | grep -v '^$' | sort; }

total_ms=0
# run_one DIR [OPTION...]: runs the query of DIR and compares its rows.
run_one() {
  local d="$1" id label
  shift
  id=$(basename "$d")
  label="$id${1:+ ($*)}"
  mapfile -t inputs <"$d/inputs"
  t0=$(date +%s%N)
  "$BIN" query --timeout "${MOVIES_TIMEOUT_MS:-20000}" "$@" "$DB" "$(cat "$d/query")" "${inputs[@]}" \
    >"$T/$id.out" 2>"$T/$id.err"
  rc=$?
  ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  total_ms=$((total_ms + ms))
  if [ "$rc" -ne 0 ]; then bad "$label: exit $rc: $(cat "$T/$id.err")"; return; fi
  if ! sane "$(cat "$T/$id.err")"; then bad "$label: $(cat "$T/$id.err")"; return; fi
  rows "$T/$id.out" >"$T/$id.got"
  rows "$(cat "$d/want")" >"$T/$id.want"
  if cmp -s "$T/$id.got" "$T/$id.want"; then
    ok; echo "$label: $(wc -l <"$T/$id.got") rows, $ms ms (process included)"
  else
    bad "$label: the rows differ from $(cat "$d/want") (< missing, > unexpected)"
    diff "$T/$id.want" "$T/$id.got" | head -10
  fi
}

split_queries "$M/queries.edn" "$T/q/public"
n=0
for d in "$T"/q/public/*; do n=$((n+1)); run_one "$d"; done
if [ "$n" -eq 8 ]; then ok; else bad "queries.edn gave $n queries, wanted 8"; fi
k=0
for f in "$@"; do
  k=$((k+1))
  split_queries "$f" "$T/q/extra$k"
  n=0
  for d in "$T/q/extra$k"/*; do
    n=$((n+1))
    run_one "$d"
    if [ "${MOVIES_NAIVE:-0}" = 1 ]; then run_one "$d" --plan naive; fi
  done
  if [ "$n" -ge 1 ]; then ok; else bad "$f gave no query"; fi
done
echo "queries: $total_ms ms in all"
e2e_done
