#!/usr/bin/env bash
# test_install.sh -- installs the built Datolite into a temporary prefix,
# moves that prefix elsewhere (the installed files must not depend on where
# they were installed), then builds tests/install/consumer against the moved
# prefix three ways and runs each build:
#   1. pkg-config --cflags --libs datolite, compiled with cc (shared library)
#   2. a CMake project, find_package(datolite CONFIG), datolite::datolite
#   3. the same project linking datolite::datolite_static
# Usage: test_install.sh BUILD_DIR CONSUMER_DIR CC CMAKE [EXTRA_CFLAGS]
# EXTRA_CFLAGS (e.g. the sanitizer flags the library was built with) are
# used to compile and link the consumers.
set -euo pipefail
build="$1" consumer="$2" cc="$3" cmake="$4" extra="${5:-}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export TMPDIR="$tmp"

step() { echo "== $*"; }
die() { echo "FAIL: $*"; exit 1; }

step "install into $tmp/first"
"$cmake" --install "$build" --prefix "$tmp/first" >"$tmp/install.log" ||
    { cat "$tmp/install.log"; die "cmake --install failed"; }
mv "$tmp/first" "$tmp/moved"
prefix="$tmp/moved"
for f in include/datolite.h lib/libdatolite.so lib/libdatolite.a lib/pkgconfig/datolite.pc \
    lib/cmake/datolite/datoliteConfig.cmake lib/cmake/datolite/datoliteConfigVersion.cmake \
    lib/cmake/datolite/datoliteTargets.cmake bin/datolite; do
    [ -e "$prefix/$f" ] || die "$f was not installed"
done
if grep -rl "$tmp/first" "$prefix/lib/pkgconfig" "$prefix/lib/cmake"; then
    die "installed files above name the install prefix: they cannot be moved"
fi

step "pkg-config"
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
pcflags=$(pkg-config --cflags --libs datolite) || die "pkg-config does not find datolite"
echo "pkg-config --cflags --libs datolite: $pcflags"
libdir=$(pkg-config --variable=libdir datolite)
[ "$(cd "$libdir" && pwd)" = "$prefix/lib" ] || die "libdir $libdir is not $prefix/lib"
[ "$(pkg-config --modversion datolite)" = "$(sed -n 's/^#define DT_VERSION_STRING "\(.*\)"/\1/p' \
    "$prefix/include/datolite.h")" ] || die "pkg-config version differs from the header's"
static_libs=$(pkg-config --static --libs datolite)
case "$static_libs" in *-llmdb*) ;; *) die "pkg-config --static lacks -llmdb: $static_libs" ;; esac
# shellcheck disable=SC2086 # the flags are words
"$cc" -std=c99 -Wall -Werror $extra -o "$tmp/consumer_pc" "$consumer/consumer.c" $pcflags \
    -Wl,-rpath,"$libdir" || die "the pkg-config build failed"
out=$("$tmp/consumer_pc") || die "the pkg-config consumer failed: $out"
case "$out" in "["*" :person/name \"Ada Lovelace\"]") ;; *) die "unexpected output: $out" ;; esac
echo "$out"

for kind in shared static; do
    step "find_package(datolite CONFIG), $kind"
    static=OFF
    [ "$kind" = static ] && static=ON
    bdir="$tmp/cmake-$kind"
    "$cmake" -S "$consumer" -B "$bdir" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_COMPILER="$cc" \
        -DCMAKE_C_FLAGS="$extra" -DCONSUMER_STATIC=$static >"$bdir.log" 2>&1 ||
        { cat "$bdir.log"; die "configuring the CMake consumer ($kind) failed"; }
    "$cmake" --build "$bdir" >>"$bdir.log" 2>&1 ||
        { cat "$bdir.log"; die "building the CMake consumer ($kind) failed"; }
    if [ "$kind" = static ]; then
        ! readelf -d "$bdir/consumer" | grep -q 'libdatolite' ||
            die "the static consumer still needs libdatolite.so"
    else
        readelf -d "$bdir/consumer" | grep -q 'libdatolite\.so' ||
            die "the shared consumer does not use libdatolite.so"
    fi
    out=$("$bdir/consumer") || die "the CMake consumer ($kind) failed: $out"
    case "$out" in "["*" :person/name \"Ada Lovelace\"]") ;; *) die "unexpected output: $out" ;; esac
    echo "$out"
done
echo "ok: installed, moved, and built against with pkg-config and find_package"
