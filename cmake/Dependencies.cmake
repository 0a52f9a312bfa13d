# Finds every external dependency; a missing one stops the configure step
# with the name of the Debian package to install (scripts/setup.sh installs
# them all).
find_package(PkgConfig)
if(NOT PKG_CONFIG_FOUND)
  message(FATAL_ERROR "pkg-config not found: apt-get install pkg-config (or run scripts/setup.sh)")
endif()
find_package(Threads REQUIRED)

function(dt_require_pkg var module debpkg)
  pkg_check_modules(${var} IMPORTED_TARGET ${module})
  if(NOT ${var}_FOUND)
    message(FATAL_ERROR "Datolite needs ${module}: apt-get install ${debpkg} (or run scripts/setup.sh)")
  endif()
endfunction()

dt_require_pkg(LMDB lmdb liblmdb-dev)
dt_require_pkg(LUA lua5.4 liblua5.4-dev)
dt_require_pkg(MSGPACK msgpack libmsgpack-dev)
dt_require_pkg(LIBEDIT libedit libedit-dev)
dt_require_pkg(PCRE2 libpcre2-8 libpcre2-dev)
if(DATOLITE_TESTS)
  dt_require_pkg(CMOCKA cmocka libcmocka-dev)
endif()
# SQLite is a peer in benchmarks only (query_bench measures it in the same
# run); without it the other benchmarks still build.
if(DATOLITE_BENCH)
  pkg_check_modules(SQLITE3 IMPORTED_TARGET sqlite3)
  if(NOT SQLITE3_FOUND)
    message(WARNING "query_bench is not built: it needs sqlite3 (apt-get install libsqlite3-dev, or run scripts/setup.sh)")
  endif()
endif()

# Everything the finished library links against.
add_library(dt_deps_all INTERFACE)
target_link_libraries(dt_deps_all INTERFACE
  PkgConfig::LMDB PkgConfig::LUA PkgConfig::MSGPACK PkgConfig::PCRE2 Threads::Threads m)
