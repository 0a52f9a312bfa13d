"""Connections and writes: transact, blocks, savepoints, async, functions."""

import asyncio
import atexit
import concurrent.futures
import os
import queue
import threading
import traceback
import weakref
from ctypes import byref, c_void_p

from . import _lib as L
from . import errors as E
from .core import (
    Db,
    Report,
    _Closeable,
    _CValue,
    _Owner,
    _from_value,
    _msg,
    _raise,
    _take,
    _text,
    read_edn,
    write_edn,
)
from .values import Keyword, _pack

_KV_FLAGS = {"nosync": 0x01, "nometasync": 0x02, "writemap": 0x04, "mapasync": 0x08, "readonly": 0x10, "temp": 0x20}


_open = weakref.WeakSet()  # connections to close at exit


@atexit.register
def _close_open_connections():
    # At exit, before the interpreter stops its threads: waits for queued
    # async transactions and closes what the program left open.
    for c in list(_open):
        try:
            c.close()
        except Exception:
            pass


def _fn_id(fid):
    return str(fid)[1:] if isinstance(fid, Keyword) else str(fid).lstrip(":")


def _host_impl(conn_ref, fid, fn):
    """A dt_fn_impl calling the Python callable fn(db, *args) -> tx-data."""

    def impl(dbp, args, nargs, out, ud):
        conn = conn_ref()
        db = Db(dbp, conn, borrowed=True)  # for the call only
        try:
            pyargs = [_from_value(args + i * L.VALUE_SIZE) for i in range(nargs)]
            result = fn(db, *pyargs)
            if result is None:
                result = []
            data = _pack(result)
            rc = L.dt_msgpack_decode(data, len(data), out, None)
            if rc:
                return L.dt_errmsg_set(dbp, rc, b"%s", ("%s: bad tx-data: %s" % (fid, _msg(None))).encode())
            return E.OK
        except BaseException as e:  # the transaction fails, never the process
            code = e.code if isinstance(e, E.DatoliteError) and e.code else E.TXFN
            text = "%s: %s" % (type(e).__name__, e)  # the library adds the function's name
            return L.dt_errmsg_set(dbp, code, b"%s", text.encode("utf-8", "replace"))
        finally:
            db._close_children()
            db._closed = True

    return L.FN_IMPL(impl)


def _query_impl(fid, fn):
    """A dt_qfn_impl calling the Python callable fn(*args) -> value.
    ctypes takes the GIL for the call, so the query threads calling it at
    the same time run it one at a time."""

    def impl(args, nargs, out, ud):
        try:
            pyargs = [_from_value(args + i * L.VALUE_SIZE) for i in range(nargs)]
            data = _pack(fn(*pyargs))
            rc = L.dt_msgpack_decode(data, len(data), out, None)
            if rc:
                return L.dt_errmsg_set(None, rc, b"%s", ("%s: bad result: %s" % (fid, _msg(None))).encode())
            return E.OK
        except BaseException as e:  # the query fails, never the process
            code = e.code if isinstance(e, E.DatoliteError) and e.code else E.TXFN
            text = "%s: %s" % (type(e).__name__, e)  # the library adds the function and clause
            return L.dt_errmsg_set(None, code, b"%s", text.encode("utf-8", "replace"))

    return L.QFN_IMPL(impl)


class Connection(_Owner, _Closeable):
    """An open database (datolite.connect).  Thread-safe: share one
    connection between threads; each thread takes its own snapshots."""

    def __init__(self, path, schema=None, *, closed_schema=False, map_size=0, max_map_size=0,
                 functions=None, query_functions=None, fn_memory=0, fn_steps=0, **flags):
        self._init_children()
        self._h = None
        o = L.ConnOptions()
        o.version = 3
        o.kv.version = 1
        o.kv.map_size = map_size
        o.kv.max_map_size = max_map_size
        for k, on in flags.items():
            if k not in _KV_FLAGS:
                raise TypeError("connect: unknown option %r" % k)
            if on:
                o.kv.flags |= _KV_FLAGS[k]
        o.closed_schema = 1 if closed_schema else 0
        o.fn_memory = fn_memory
        o.fn_steps = fn_steps
        self._impls = []
        functions = dict(functions or {})
        query_functions = dict(query_functions or {})
        entries = [(f, fn, False) for f, fn in functions.items()]
        entries += [(f, fn, True) for f, fn in query_functions.items()]
        if entries:
            defs = (L.FnDef * len(entries))()
            ref = weakref.ref(self)
            keep = []
            for i, (fid, fn, is_query) in enumerate(entries):
                ident = _fn_id(fid)
                b = ident.encode("utf-8")
                keep.append(b)
                defs[i].id = b
                if is_query:
                    defs[i].kind = b"query-fn"
                if isinstance(fn, str):
                    src = fn.encode("utf-8")
                    keep.append(src)
                    defs[i].lang = 2
                    defs[i].source = src
                elif callable(fn):
                    impl = _query_impl(ident, fn) if is_query else _host_impl(ref, ident, fn)
                    self._impls.append(impl)
                    defs[i].lang = 1
                    if is_query:
                        defs[i].qfn = impl
                    else:
                        defs[i].fn = impl
                else:
                    opt = "query_functions" if is_query else "functions"
                    raise TypeError("%s[%r]: a callable or Lua source, got %r" % (opt, fid, fn))
            o.fns = defs
            o.nfns = len(entries)
        if schema is not None and not isinstance(schema, (str, bytes)):
            schema = write_edn(schema)
        sch = _text(schema) if schema is not None else None
        h = c_void_p()
        rc = L.dt_conn_open(os.fsencode(path), sch, byref(o), byref(h))
        if rc:
            _raise(rc)
        self._h = h.value
        _open.add(self)
        self.path = path
        self._waiter = None
        self._wlock = threading.Lock()
        self._pending = None

    def _check(self):
        if not self._h:
            raise E.MisuseError(E.MISUSE, "the connection is closed")

    # -- reads

    def db(self):
        """A snapshot of the database as of now (close it when done, or
        use it in a with statement)."""
        self._check()
        h = c_void_p()
        rc = L.dt_conn_db(self._h, byref(h))
        if rc:
            _raise(rc, self._h)
        return self._adopt(Db(h.value, self))

    def q(self, query, *inputs, **kw):
        """Runs a query on a fresh snapshot (released afterwards)."""
        with self.db() as db:
            return db.q(query, *inputs, **kw)

    def schema(self):
        """The schema as a dict {attribute keyword: definition}."""
        self._check()
        p = c_void_p()
        rc = L.dt_conn_schema(self._h, byref(p))
        if rc:
            _raise(rc, self._h)
        return read_edn(_take(p))

    def update_schema(self, schema):
        """Adds or changes attributes (a dict, or EDN text of a schema map)."""
        self._check()
        if not isinstance(schema, (str, bytes)):
            schema = write_edn(schema)
        b = _text(schema)
        rc = L.dt_conn_update_schema_text(self._h, b, len(b))
        if rc:
            _raise(rc, self._h)

    # -- writes

    def transact(self, tx_data):
        """Applies tx-data (a list of entity dicts and [op, e, a, v] forms)
        in one durable transaction and returns its Report."""
        self._check()
        with _CValue(tx_data) as v:
            r = c_void_p()
            rc = L.dt_transact_value(self._h, v.ref(), byref(r))
            if rc:
                _raise(rc, self._h)
        return Report(r.value, self)

    def call(self, fn, *args):
        """Calls transaction function fn (its ident or registered id) with
        args as one transaction; returns the Report."""
        self._check()
        with _CValue(list(args)) as v:
            r = c_void_p()
            rc = L.dt_call(self._h, _text(_fn_id(fn)), v.items(), len(args), byref(r))
            if rc:
                _raise(rc, self._h)
        return Report(r.value, self)

    def install_function(self, ident, source):
        """Installs (or replaces) a stored Lua transaction function: an
        entity with :db/ident ident and :db/fn source."""
        return self.transact([{Keyword("db/ident"): Keyword(ident), Keyword("db/fn"): source}])

    def transaction(self):
        """A write block: `with conn.transaction() as tx:` commits on exit
        and aborts on an exception."""
        self._check()
        return Transaction(self)

    # -- async

    def _submit(self, fut_handle, pyfut):
        with self._wlock:
            if self._waiter is None:
                self._pending = queue.SimpleQueue()
                self._waiter = threading.Thread(target=self._wait_loop, args=(self._pending,),
                                                name="datolite-futures", daemon=True)
                self._waiter.start()
            self._pending.put((fut_handle, pyfut))

    @staticmethod
    def _wait_loop(pending):
        while True:
            item = pending.get()
            if item is None:
                return
            f, pyfut = item
            rc = L.dt_future_wait(f)
            try:
                if rc == E.OK:
                    rep = L.dt_future_report(f)
                    res = Report(rep, None, owned=False) if rep else None
                    pyfut.set_result(res)
                else:
                    m = L.dt_future_errmsg(f)
                    pyfut.set_exception(E.make_error(rc, m.decode("utf-8", "replace") if m else ""))
            except BaseException as e:
                if not pyfut.done():
                    pyfut.set_exception(e)
            finally:
                L.dt_future_free(f)

    def transact_async(self, tx_data):
        """Queues tx-data and returns a concurrent.futures.Future of its
        Report (without snapshots).  Transactions commit in submission
        order, many per commit."""
        self._check()
        pyfut = concurrent.futures.Future()
        with _CValue(tx_data) as v:
            f = c_void_p()
            rc = L.dt_transact_async_value(self._h, v.ref(), None, None, byref(f))
            if rc:
                _raise(rc, self._h)
        pyfut.set_running_or_notify_cancel()
        self._submit(f.value, pyfut)
        return pyfut

    def call_async(self, fn, *args):
        """call() queued like transact_async; returns a Future."""
        self._check()
        pyfut = concurrent.futures.Future()
        with _CValue(list(args)) as v:
            f = c_void_p()
            rc = L.dt_call_async(self._h, _text(_fn_id(fn)), v.items(), len(args), None, None, byref(f))
            if rc:
                _raise(rc, self._h)
        pyfut.set_running_or_notify_cancel()
        self._submit(f.value, pyfut)
        return pyfut

    async def atransact(self, tx_data):
        """asyncio flavour of transact_async: `report = await conn.atransact(...)`."""
        return await asyncio.wrap_future(self.transact_async(tx_data))

    async def acall(self, fn, *args):
        """asyncio flavour of call_async."""
        return await asyncio.wrap_future(self.call_async(fn, *args))

    def sync(self, force=True):
        """Flushes committed data to disk now."""
        self._check()
        rc = L.dt_conn_sync(self._h, 1 if force else 0)
        if rc:
            _raise(rc, self._h)

    def close(self):
        """Waits for queued async transactions, releases every snapshot,
        report, entity and iterator of the connection, and closes it."""
        if not self._h:
            return
        with self._wlock:
            w, self._waiter = self._waiter, None
            if w is not None:
                self._pending.put(None)
        if w is not None:
            w.join()
        self._close_children()
        h, self._h = self._h, None
        rc = L.dt_conn_close(h)
        if rc:
            self._h = h
            _raise(rc, None)
        _open.discard(self)

    def __repr__(self):
        return "<Connection %r%s>" % (getattr(self, "path", "?"), "" if self._h else " closed")


def connect(path, schema=None, **options):
    """Opens (creating it if needed) the database in directory `path`.

    schema: a dict {K.user.email: {K.db.valueType: K.db.type.string, ...}}
    or EDN text of a schema map.  Options: closed_schema, map_size,
    max_map_size, nosync, nometasync, writemap, mapasync, readonly, temp
    (delete the directory at close), functions ({id: callable or Lua
    source}: host transaction functions), query_functions ({id: callable
    or Lua source}: query functions, called as [(acme/score ?a) ?s]),
    fn_memory, fn_steps.
    Use as a context manager to close it.
    """
    return Connection(path, schema, **options)


class Transaction(_Owner):
    """A write block (conn.transaction()).  It belongs to the thread that
    entered it.  tx.db() reads the block's own writes; a view is closed by
    the next write of the block."""

    def __init__(self, conn):
        self._conn = conn
        self._h = None
        self._init_children()

    def __enter__(self):
        self._conn._check()
        h = c_void_p()
        rc = L.dt_txn_begin(self._conn._h, byref(h))
        if rc:
            _raise(rc, self._conn._h)
        self._h = h.value
        return self

    def __exit__(self, et, ev, tb):
        if self._h is None:
            return False
        if et is None:
            self.commit()
        else:
            self.abort()
        return False

    def _live(self):
        if not self._h:
            raise E.MisuseError(E.MISUSE, "the transaction block is not open")
        self._close_children()

    def db(self):
        """A view of the block's current state, its own writes included;
        valid until the block's next write, savepoint operation or end."""
        self._live()
        h = c_void_p()
        rc = L.dt_txn_db(self._h, byref(h))
        if rc:
            _raise(rc, self._h)
        return self._adopt(Db(h.value, self._conn))

    def transact(self, tx_data):
        """Runs tx-data in the block; on failure the block is as before and
        stays usable.  Returns a Report without snapshots."""
        self._live()
        with _CValue(tx_data) as v:
            r = c_void_p()
            rc = L.dt_txn_transact_value(self._h, v.ref(), byref(r))
            if rc:
                _raise(rc, self._h)
        return Report(r.value, None)

    def call(self, fn, *args):
        """Calls a transaction function inside the block."""
        self._live()
        with _CValue(list(args)) as v:
            r = c_void_p()
            rc = L.dt_txn_call(self._h, _text(_fn_id(fn)), v.items(), len(args), byref(r))
            if rc:
                _raise(rc, self._h)
        return Report(r.value, None)

    def savepoint(self):
        """Marks the block's current state: sp.rollback() undoes what came
        after, sp.release() keeps it.  As a context manager it releases on
        success and rolls back (and re-raises) on an exception."""
        self._live()
        h = c_void_p()
        rc = L.dt_savepoint_create(self._h, byref(h))
        if rc:
            _raise(rc, self._h)
        return Savepoint(self, h.value)

    def commit(self):
        """Commits the block durably (also what `with` does on success)."""
        self._live()
        h, self._h = self._h, None
        rc = L.dt_txn_commit(h)
        if rc:
            _raise(rc, self._conn._h)

    def abort(self):
        """Discards everything the block did."""
        if self._h:
            self._close_children()
            h, self._h = self._h, None
            L.dt_txn_abort(h)


class Savepoint:
    def __init__(self, tx, handle):
        self._tx = tx
        self._h = handle

    def rollback(self):
        """Undoes everything after the savepoint (it stays usable)."""
        self._tx._live()
        rc = L.dt_savepoint_rollback(self._tx._h, self._h)
        if rc:
            _raise(rc, self._tx._h)

    def release(self):
        """Keeps the changes and forgets the savepoint."""
        self._tx._live()
        rc = L.dt_savepoint_release(self._tx._h, self._h)
        if rc:
            _raise(rc, self._tx._h)

    def __enter__(self):
        return self

    def __exit__(self, et, ev, tb):
        if et is None:
            self.release()
        else:
            self.rollback()
            self.release()
        return False
