#!/usr/bin/env bash
# test_exports.sh -- the shared library exports exactly the functions that
# include/datolite.h declares: every dynamic symbol it defines starts with
# dt_ and is declared in the header, and every dt_ function the header
# declares is exported.
# Usage: test_exports.sh LIBDATOLITE.so datolite.h C-COMPILER NM
set -euo pipefail
lib="$1" header="$2" cc="$3" nm="$4"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Names the header declares as functions: the preprocessed header (comments
# and macros gone) joined into one line, every dt_ identifier followed by '('.
"$cc" -E -P -x c "$header" | tr '\n' ' ' |
    grep -oE '\bdt_[A-Za-z0-9_]*[[:space:]]*\(' | sed 's/[[:space:]]*($//' |
    sort -u >"$work/declared"
# Names the library defines in its dynamic symbol table.
"$nm" -D --defined-only "$lib" | awk 'NF >= 3 { print $3 }' | sed 's/@.*//' |
    sort -u >"$work/exported"

fail=0
ndecl=$(wc -l <"$work/declared")
nexp=$(wc -l <"$work/exported")
if [ "$ndecl" -lt 50 ]; then
    echo "FAIL: found only $ndecl declared functions in $header (parsing broke?)"
    fail=1
fi
extra=$(comm -13 "$work/declared" "$work/exported")
if [ -n "$extra" ]; then
    echo "FAIL: exported but not declared in datolite.h ($(echo "$extra" | wc -l)):"
    echo "$extra" | sed 's/^/  /'
    fail=1
fi
badname=$(grep -v '^dt_' "$work/exported" || true)
if [ -n "$badname" ]; then
    echo "FAIL: exported names without the dt_ prefix:"
    echo "$badname" | sed 's/^/  /'
    fail=1
fi
missing=$(comm -23 "$work/declared" "$work/exported")
if [ -n "$missing" ]; then
    echo "FAIL: declared in datolite.h but not exported ($(echo "$missing" | wc -l)):"
    echo "$missing" | sed 's/^/  /'
    fail=1
fi
[ "$fail" -eq 0 ] || exit 1
echo "ok: $nexp exported functions, all declared in datolite.h, and all $ndecl declared ones exported"
