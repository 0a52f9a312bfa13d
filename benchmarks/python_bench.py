#!/usr/bin/env python3
"""The Python package (bindings/python) against the C API and sqlite3.

  people   DataScript's people20k dataset (the shared folder's
           bench/people20k.edn), q1-q4 as in query_bench.c:
             c        the C API: a prepared query, dt_query_run +
                      dt_result_count + dt_result_free (called through
                      ctypes: three foreign calls, about a microsecond)
             python   db.q(text): the same query through the package,
                      result converted to a Python set of tuples
             sqlite3  the standard library's sqlite3 on an in-memory EAV
                      copy of the same datoms (query_bench.c's tables and
                      SQL), rows fetched as Python tuples
           interleaved in rotating order, RUNS runs; each run times a
           batch of calls (~20 ms) of each in CPU time of the process
           (time.process_time: other processes' load on a shared machine
           does not count); figures are medians of the per-call times,
           the ratio the median of the per-run ratios.
  tx       10,000 small transactions (one entity of two attributes each):
             python sync    conn.transact([...]) one by one
             python async   conn.transact_async([...]) for all, then wait
             c sync         dt_transact(conn, edn, &report) + dt_report_close
                            through ctypes (the report as Python's has)
             sqlite3        INSERT + COMMIT one by one (WAL, synchronous=OFF)
           all without fsync (Datolite nosync, SQLite synchronous=OFF), so
           the CPU path is measured, on files in a temp directory.

Usage: python3 benchmarks/python_bench.py [--runs N] [--shared DIR]
(DATOLITE_LIBRARY may point at the library; else the build tree's is used.)
"""

import argparse
import ctypes
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "bindings", "python"))

import datolite  # noqa: E402
from datolite import K  # noqa: E402
from datolite import _lib as L  # noqa: E402

QUERIES = [
    ("q1", '[:find ?e :where [?e :name "Ivan"]]',
     "SELECT e FROM eav WHERE a = 'name' AND v = 'Ivan'"),
    ("q2", '[:find ?e ?a :where [?e :name "Ivan"] [?e :age ?a]]',
     "SELECT n.e, g.v FROM eav n JOIN eav g ON g.e = n.e AND g.a = 'age'"
     " WHERE n.a = 'name' AND n.v = 'Ivan'"),
    ("q3", '[:find ?e ?a :where [?e :name "Ivan"] [?e :age ?a] [?e :sex :male]]',
     "SELECT n.e, g.v FROM eav n JOIN eav g ON g.e = n.e AND g.a = 'age'"
     " JOIN eav s ON s.e = n.e AND s.a = 'sex' AND s.v = ':male'"
     " WHERE n.a = 'name' AND n.v = 'Ivan'"),
    ("q4", '[:find ?e ?l ?a :where [?e :name "Ivan"] [?e :last-name ?l] [?e :age ?a] [?e :sex :male]]',
     "SELECT n.e, l.v, g.v FROM eav n JOIN eav l ON l.e = n.e AND l.a = 'last-name'"
     " JOIN eav g ON g.e = n.e AND g.a = 'age'"
     " JOIN eav s ON s.e = n.e AND s.a = 'sex' AND s.v = ':male'"
     " WHERE n.a = 'name' AND n.v = 'Ivan'"),
]

lib = L.lib
lib.dt_query_prepare.restype = ctypes.c_int
lib.dt_query_prepare.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_void_p)]
lib.dt_transact.restype = ctypes.c_int
lib.dt_transact.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
lib.dt_report_close.argtypes = [ctypes.c_void_p]


def timed(fn, n):
    # CPU time of this process: the machine's other load does not count
    # (a query runs on the calling thread only)
    t0 = time.process_time()
    for _ in range(n):
        fn()
    return (time.process_time() - t0) / n


def load(shared, tmp):
    with open(os.path.join(shared, "bench", "bench-schema.edn")) as f:
        schema = f.read()
    with open(os.path.join(shared, "bench", "people20k.edn")) as f:
        text = f.read()
    t0 = time.perf_counter()
    data = datolite.read_edn(text)
    t1 = time.perf_counter()
    conn = datolite.connect(os.path.join(tmp, "people"), schema, nosync=True)
    conn.transact(data).close()
    t2 = time.perf_counter()
    print("people20k: %d entities; EDN read %.2f s, one conn.transact %.2f s" % (len(data), t1 - t0, t2 - t1),
          file=sys.stderr)
    # the sqlite copy, as query_bench.c makes it
    s = sqlite3.connect(":memory:")
    s.execute("CREATE TABLE eav (e INTEGER NOT NULL, a TEXT NOT NULL, v, PRIMARY KEY (e, a, v)) WITHOUT ROWID")
    rows = []
    with conn.db() as db:
        for d in db.datoms("eav"):
            ns = datolite.namespace(d.a) or ""
            if ns == "db" or ns.startswith("db."):
                continue
            v = d.v
            if isinstance(v, datolite.Keyword):
                v = str(v)
            a = str(d.a)[1:]
            rows.append((d.e, a, v))
    s.executemany("INSERT INTO eav VALUES (?, ?, ?)", rows)
    s.execute("CREATE INDEX ave ON eav (a, v, e)")
    s.execute("ANALYZE")
    s.commit()
    return conn, s


def bench_queries(conn, s, runs):
    results = []
    db = conn.db()
    inp = L.Input(db._h, None, None, 0)
    for qid, text, sql in QUERIES:
        q = ctypes.c_void_p()
        b = text.encode()
        assert lib.dt_query_prepare(b, len(b), ctypes.byref(q)) == 0
        r = ctypes.c_void_p()

        def c_call():
            lib.dt_query_run(q, ctypes.byref(inp), 1, None, ctypes.byref(r))
            n = lib.dt_result_count(r)
            lib.dt_result_free(r)
            return n

        def py_call():
            return db.q(text)

        cur = s.cursor()

        def sql_call():
            return cur.execute(sql).fetchall()

        nrows = c_call()
        assert len(py_call()) == nrows, qid
        assert len(sql_call()) == nrows, qid
        # a batch takes ~20 ms
        per = timed(py_call, 5)
        batch = max(3, int(0.02 / max(per, 1e-6)))
        impls = [("c", c_call), ("python", py_call), ("sqlite3", sql_call)]
        times = {k: [] for k, _ in impls}
        for run in range(runs):
            order = impls[run % 3:] + impls[:run % 3]
            for name, fn in order:
                times[name].append(timed(fn, batch))
        lib.dt_query_free(q)
        med = {k: statistics.median(v) * 1000 for k, v in times.items()}
        ratios = [p / c for p, c in zip(times["python"], times["c"])]
        results.append((qid, nrows, med, statistics.median(ratios)))
    db.close()
    return results


def bench_tx(tmp, n):
    out = {}
    schema = "{:u/email {:db/unique :db.unique/identity}}"

    def fresh(name):
        p = os.path.join(tmp, name)
        shutil.rmtree(p, ignore_errors=True)
        return datolite.connect(p, schema, nosync=True)

    def clock():
        return time.perf_counter(), time.process_time()

    def since(t):
        return time.perf_counter() - t[0], time.process_time() - t[1]

    with fresh("sync") as c:
        t0 = clock()
        for i in range(n):
            c.transact([{K.u.email: "u%d@x" % i, K.u.n: i}])
        out["python sync: conn.transact"] = since(t0)
        assert c.q("[:find (count ?e) . :where [?e :u/n]]") == n
    with fresh("async") as c:
        t0 = clock()
        futs = [c.transact_async([{K.u.email: "u%d@x" % i, K.u.n: i}]) for i in range(n)]
        for f in futs:
            f.result()
        out["python async: conn.transact_async, then wait"] = since(t0)
        assert c.q("[:find (count ?e) . :where [?e :u/n]]") == n
    with fresh("csync") as c:
        texts = [('[{:u/email "u%d@x" :u/n %d}]' % (i, i)).encode() for i in range(n)]
        rep = ctypes.c_void_p()
        t0 = clock()
        for t in texts:
            if lib.dt_transact(c._h, t, ctypes.byref(rep)):
                raise SystemExit("dt_transact failed")
            lib.dt_report_close(rep)
        out["C API sync: dt_transact with a report"] = since(t0)
    path = os.path.join(tmp, "tx.sqlite")
    s = sqlite3.connect(path, isolation_level=None)
    s.execute("PRAGMA journal_mode=WAL")
    s.execute("PRAGMA synchronous=OFF")
    s.execute("CREATE TABLE eav (e INTEGER NOT NULL, a TEXT NOT NULL, v, PRIMARY KEY (e, a, v)) WITHOUT ROWID")
    s.execute("CREATE INDEX ave ON eav (a, v, e)")
    t0 = clock()
    for i in range(n):
        s.execute("BEGIN")
        s.execute("INSERT INTO eav VALUES (?, 'u/email', ?)", (i + 1, "u%d@x" % i))
        s.execute("INSERT INTO eav VALUES (?, 'u/n', ?)", (i + 1, i))
        s.execute("COMMIT")
    out["sqlite3: BEGIN, 2 INSERTs, COMMIT"] = since(t0)
    s.close()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=31)
    ap.add_argument("--tx", type=int, default=10000)
    ap.add_argument("--shared", default=os.environ.get("DT_SHARED_DIR") or os.path.join(HERE, "..", "..", "shared"))
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="pybench")
    try:
        conn, s = load(a.shared, tmp)
        res = bench_queries(conn, s, a.runs)
        conn.close()
        print("library: %s (%s)" % (datolite.__version__, datolite.library_path))
        print()
        print("| query | rows | C API ms | Python ms | Python / C | overhead us/query | overhead ns/row | sqlite3 ms |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for qid, rows, med, ratio in res:
            over = (med["python"] - med["c"]) * 1000
            print("| %s | %d | %.3f | %.3f | %.2f | %.0f | %.0f | %.3f |" % (
                qid, rows, med["c"], med["python"], ratio, over, over * 1000 / rows, med["sqlite3"]))
        print()
        t = bench_tx(tmp, a.tx)
        print("| %d small transactions | wall s | tx/s | CPU s |" % a.tx)
        print("|---|---:|---:|---:|")
        for k, (wall, cpu) in t.items():
            print("| %s | %.2f | %.0f | %.2f |" % (k, wall, a.tx / wall, cpu))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
