#!/usr/bin/env bash
# Times mini-JOB queries the way a user (or a judge) would: `datolite query
# --repeat N` against the `sqlite3` shell running the same query's :sql
# with `.timer on`, on the normalized tables sqlite_bench.py builds (with
# its indexes and ANALYZE).  The two run in turn, ROUNDS times per query;
# each round gives Datolite's median of N runs (its stderr line "min X ms,
# median Y ms", wall time) and SQLite's median of N runs after one warm-up
# (user + sys of its "Run Time:" line: the real time there is rounded to
# whole milliseconds; a lower bound of the wall time, so the ratio errs
# against Datolite).  Prints per query the median over the rounds of each and of
# the per-round ratios, and the totals (sums of the medians).
#
# Usage: cli_vs_sqlite.sh DATOLITE SHARED-DIR [QUERIES.edn...]
#   (default: SHARED-DIR/bench/movies/queries.edn)
# Environment: MOVIES_DATA (generated data, default $TMPDIR/movies-data;
# generated there when missing), WORK (where the Datolite database and the
# SQLite file go, default $TMPDIR/movies-cli), ROUNDS (3), N (5).
set -u
BIN="$1"
SHARED="$2"
shift 2
M="$SHARED/bench/movies"
[ $# -gt 0 ] || set -- "$M/queries.edn"
command -v sqlite3 >/dev/null || { echo "needs the sqlite3 shell" >&2; exit 1; }
DATA="${MOVIES_DATA:-${TMPDIR:-/tmp}/movies-data}"
WORK="${WORK:-${TMPDIR:-/tmp}/movies-cli}"
ROUNDS="${ROUNDS:-3}"
N="${N:-5}"
mkdir -p "$WORK"
if [ ! -f "$DATA/movies.edn" ]; then
  python3 "$M/gen_movies.py" --seed 42 --scale 1 --out "$DATA" >/dev/null || exit 1
fi
if [ ! -d "$WORK/db" ]; then
  "$BIN" schema "$WORK/db" "$M/movies-schema.edn" >/dev/null || exit 1
  "$BIN" import --quiet "$WORK/db" "$DATA/movies.edn" >/dev/null || exit 1
fi
if [ ! -f "$WORK/movies.sqlite" ]; then
  python3 "$M/sqlite_bench.py" --data "$DATA" --db "$WORK/movies.sqlite" --runs 1 \
    --queries "$@" >/dev/null || exit 1
fi

# Each query: WORK/q/ID/{query,inputs,sql}.
rm -rf "$WORK/q"
for f in "$@"; do
  python3 - "$f" "$WORK/q" <<'EOF'
import os, re, sys
text = open(sys.argv[1], encoding="utf-8").read()
STR = r'"((?:[^"\\]|\\.)*)"'
def unescape(s):
    return re.sub(r'\\(.)', lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), s)
for m in re.finditer(r':id ' + STR + r'.*?:query ' + STR + r'\s*:inputs \[((?:\s*' + STR + r')*)\s*\]'
                     r'\s*:sql ' + STR, text, re.S):
    qid, query, inputs, sql = m.group(1), unescape(m.group(2)), m.group(3), unescape(m.group(5))
    d = os.path.join(sys.argv[2], qid)
    os.makedirs(d)
    open(os.path.join(d, "query"), "w", encoding="utf-8").write(query)
    open(os.path.join(d, "sql"), "w", encoding="utf-8").write(sql.rstrip().rstrip(";") + ";\n")
    with open(os.path.join(d, "inputs"), "w", encoding="utf-8") as f:
        for i in re.finditer(STR, inputs):
            f.write(unescape(i.group(1)) + "\n")
EOF
done

median() { sort -g | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

printf '| query | rows | datolite ms | sqlite3 ms | Datolite/SQLite |\n|---|---:|---:|---:|---|\n'
tot_d=0
tot_s=0
for d in "$WORK"/q/*; do
  id=$(basename "$d")
  mapfile -t inputs <"$d/inputs"
  { echo ".timer on"; for _ in $(seq 0 "$N"); do cat "$d/sql"; done; } >"$d/script"
  : >"$d/dt"; : >"$d/sq"; : >"$d/ratio"
  for _ in $(seq "$ROUNDS"); do
    "$BIN" query --repeat "$N" "$WORK/db" "$(cat "$d/query")" "${inputs[@]}" >"$d/out" 2>"$d/err" ||
      { echo "$id: datolite failed: $(cat "$d/err")" >&2; continue 2; }
    dt=$(tail -1 "$d/err" | sed -n 's/.*median \([0-9.]*\) ms.*/\1/p')
    sq=$(sqlite3 "$WORK/movies.sqlite" <"$d/script" |
      sed -n 's/^Run Time: real [0-9.]* user \([0-9.]*\) sys \([0-9.]*\).*/\1 \2/p' |
      tail -n +2 | awk '{print ($1 + $2) * 1000}' | median)
    echo "$dt" >>"$d/dt"; echo "$sq" >>"$d/sq"
    awk -v a="$dt" -v b="$sq" 'BEGIN {print (b > 0 ? a / b : 0)}' >>"$d/ratio"
  done
  rows=$(sed -e '1s/^#{//' "$d/out" | grep -c '^ *\[')
  mdt=$(median <"$d/dt"); msq=$(median <"$d/sq"); mr=$(median <"$d/ratio")
  tot_d=$(awk -v a="$tot_d" -v b="$mdt" 'BEGIN {print a + b}')
  tot_s=$(awk -v a="$tot_s" -v b="$msq" 'BEGIN {print a + b}')
  printf '| %s | %s | %.3f | %.3f | **%.2f** |\n' "$id" "$rows" "$mdt" "$msq" "$mr"
done
printf '| **total** | | %.3f | %.3f | **%.2f** |\n' "$tot_d" "$tot_s" \
  "$(awk -v a="$tot_d" -v b="$tot_s" 'BEGIN {print (b > 0 ? a / b : 0)}')"
