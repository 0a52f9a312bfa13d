#!/usr/bin/env python3
"""Time from starting `datolite DIR` to its prompt, on a pseudo-terminal.

Usage: repl_startup.py BIN DIR [--runs N] [--datoms N]
Builds DIR first when it has no data.mdb: --datoms N generated datoms
(default 9,500,000: about 1 GB) bulk-loaded with `datolite init-db`.
Each run starts the REPL on a fresh pty, waits for "datolite> ", sends
.quit and waits for the exit; the time to the prompt is recorded.
Prints the file size, then min / median / max over the runs, for DIR and
for an empty database beside it.
"""
import os
import select
import statistics
import subprocess
import sys
import time


def build(bin_, dir_, n):
    schema = os.path.join(dir_ + ".schema.edn")
    with open(schema, "w") as f:
        f.write("{:p/name {:db/valueType :db.type/string}\n"
                " :p/email {:db/valueType :db.type/string :db/unique :db.unique/identity}\n"
                " :p/age {:db/valueType :db.type/long}\n"
                " :p/friend {:db/valueType :db.type/ref :db/cardinality :db.cardinality/many}}\n")
    p = subprocess.Popen([bin_, "init-db", "--quiet", "--schema", schema, dir_, "-"],
                         stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    ents = n // 5
    out = p.stdin
    buf = []
    for e in range(1, ents + 1):
        buf.append('[%d :p/name "person number %d of the startup benchmark"]\n' % (e, e))
        buf.append('[%d :p/email "person%d@startup-benchmark.example.org"]\n' % (e, e))
        buf.append("[%d :p/age %d]\n" % (e, e % 97))
        buf.append("[%d :p/friend %d]\n" % (e, (e * 7919) % ents + 1))
        buf.append("[%d :p/friend %d]\n" % (e, (e * 104729) % ents + 1))
        if len(buf) > 50000:
            out.write("".join(buf).encode())
            buf = []
    out.write("".join(buf).encode())
    out.close()
    if p.wait() != 0:
        sys.exit("init-db failed")


def spawn(args, env):
    """Starts args on a new pseudo-terminal (posix_spawn/vfork through
    subprocess: no copy of this Python process, so the time measured is
    the program's).  Returns (process, master fd)."""
    master, slave = os.openpty()
    p = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave, env=env,
                         close_fds=True)
    os.close(slave)
    return p, master


def drain(fd):
    try:
        while os.read(fd, 65536):
            pass
    except OSError:
        pass


def time_to_prompt(bin_, dir_):
    env = dict(os.environ, DATOLITE_HISTORY=os.devnull, TERM="xterm")
    t0 = time.perf_counter()
    p, fd = spawn([bin_, dir_], env)
    seen = b""
    t = None
    while time.perf_counter() - t0 < 30:
        r, _, _ = select.select([fd], [], [], 0.5)
        if r:
            seen += os.read(fd, 4096)
            if b"datolite> " in seen:
                t = time.perf_counter() - t0
                break
    os.write(fd, b".quit\r")
    drain(fd)
    _, _, ru = os.wait4(p.pid, 0)
    os.close(fd)
    if t is None:
        sys.exit("no prompt within 30 s: %r" % seen[-300:])
    return t, ru.ru_utime + ru.ru_stime


def time_version(bin_):
    """The same path for `datolite --version` until its output: the cost
    of starting the program at all (exec, dynamic linking), the floor
    under any prompt time."""
    t0 = time.perf_counter()
    p, fd = spawn([bin_, "--version"], dict(os.environ))
    seen = b""
    while b"\n" not in seen:
        r, _, _ = select.select([fd], [], [], 5)
        if not r:
            break
        seen += os.read(fd, 4096)
    t = time.perf_counter() - t0
    drain(fd)
    _, _, ru = os.wait4(p.pid, 0)
    os.close(fd)
    return t, ru.ru_utime + ru.ru_stime


def main():
    args = sys.argv[1:]
    if len(args) < 2:
        sys.exit(__doc__)
    bin_, dir_ = args[0], args[1]
    runs, datoms = 21, 9_500_000
    if "--runs" in args:
        runs = int(args[args.index("--runs") + 1])
    if "--datoms" in args:
        datoms = int(args[args.index("--datoms") + 1])
    if not os.path.exists(os.path.join(dir_, "data.mdb")):
        t = time.time()
        build(bin_, dir_, datoms)
        print("built %s in %.0f s" % (dir_, time.time() - t))
    empty = dir_ + ".empty"
    # the REPL in script mode creates it
    subprocess.run([bin_, empty], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, check=True)
    size = os.path.getsize(os.path.join(dir_, "data.mdb"))
    print("database: %s, data.mdb %.2f GB" % (dir_, size / 1e9))
    # interleaved (A B C A B C ...): a loaded machine slows all three alike
    res = {"1 GB database": [], "empty database": [], "--version": []}
    for _ in range(runs):
        res["1 GB database"].append(time_to_prompt(bin_, dir_))
        res["empty database"].append(time_to_prompt(bin_, empty))
        res["--version"].append(time_version(bin_))
    for name, v in res.items():
        wall = sorted(x[0] for x in v)
        cpu = sorted(x[1] for x in v)
        print("%-15s runs %d  wall: min %.1f ms  median %.1f ms  max %.1f ms   "
              "cpu (user+sys): median %.1f ms" %
              (name, runs, wall[0] * 1e3, statistics.median(wall) * 1e3, wall[-1] * 1e3,
               statistics.median(cpu) * 1e3))


main()
