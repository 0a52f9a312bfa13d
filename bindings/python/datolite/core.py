"""Connections, snapshots, queries, pull, entities, writes."""

import collections
import concurrent.futures
import ctypes
import os
import queue
import threading
import weakref
from ctypes import byref, c_int64, c_size_t, c_uint64, c_void_p

from . import _lib as L
from . import errors as E
from .values import Edn, Keyword, _instant, _pack, unpack, unpack_frozen

_FIND_REL, _FIND_COLL, _FIND_SCALAR, _FIND_TUPLE = 0, 1, 2, 3
_INDEXES = {"eav": 0, "ave": 1}


def _msg(handle):
    m = L.dt_errmsg(handle)
    return m.decode("utf-8", "replace") if m else ""


def _raise(rc, handle=None):
    raise E.make_error(rc, _msg(handle))


def _text(x):
    if isinstance(x, str):
        return x.encode("utf-8")
    if isinstance(x, Keyword):
        return str(x)[1:].encode("utf-8")
    if isinstance(x, bytes):
        return x
    raise TypeError("expected text, got %r" % (x,))


class _Closing:
    """with-blocks for objects with a close(): the block's end calls it."""

    __slots__ = ()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class _Closeable(_Closing):
    """_Closing, and garbage collection calls close() too (which must be
    idempotent); an error it raises then is dropped."""

    __slots__ = ()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


class _CValue(_Closing):
    """A dt_value decoded from a Python value (freed by close())."""

    __slots__ = ("v",)

    def __init__(self, obj):
        self.v = L.Value()
        data = _pack(obj)
        rc = L.dt_msgpack_decode(data, len(data), byref(self.v), None)
        if rc:
            _raise(rc)

    def ref(self):
        return byref(self.v)

    def items(self):
        """Address of the items of a compound value."""
        return self.v.u.seq.items

    def close(self):
        L.dt_value_free(byref(self.v))


def _take(p, n=None):
    """The bytes of a buffer the library allocated (n bytes, or up to its
    NUL when n is None), which is freed."""
    try:
        return ctypes.string_at(p.value) if n is None else ctypes.string_at(p.value, n)
    finally:
        L.dt_free(p)


def _value_bytes(vptr):
    """msgpack bytes of the dt_value at vptr (a pointer or address)."""
    p = c_void_p()
    n = c_size_t()
    rc = L.dt_msgpack_encode(ctypes.cast(vptr, L.VP), byref(p), byref(n))
    if rc:
        _raise(rc)
    return _take(p, n.value)


def _from_value(vptr):
    return unpack(_value_bytes(vptr))


def _take_value(v):
    """Python value of an owned dt_value, which is freed."""
    try:
        return unpack(_value_bytes(byref(v)))
    finally:
        L.dt_value_free(byref(v))


def read_edn(text):
    """Reads one EDN form with the library's reader into Python values."""
    b = _text(text)
    v = L.Value()
    rc = L.dt_edn_read(b, len(b), byref(v))
    if rc:
        _raise(rc)
    return _take_value(v)


def write_edn(value, pretty=False):
    """EDN text of a Python value (as the library prints it)."""
    with _CValue(value) as cv:
        p = c_void_p()
        rc = L.dt_edn_write(cv.ref(), 0x00100000 if pretty else 0, byref(p), None)
        if rc:
            _raise(rc)
        return _take(p).decode("utf-8")


Datom = collections.namedtuple("Datom", "e a v tx added")
Datom.__doc__ = "A datom: entity id, attribute keyword, value, transaction id, added flag."


_attr_kw = {}


def _attr(a):
    """The Keyword of an attribute name as C text (cached)."""
    kw = _attr_kw.get(a)
    if kw is None:
        kw = _attr_kw[a] = Keyword(a.decode("utf-8"))
    return kw


def _scalar(v):
    """Python value of a dt_value struct: common scalars read directly,
    the rest through msgpack."""
    t = v.type
    if t == 2 or t == 12:  # DT_LONG, DT_REF
        return v.u.i
    if t == 8:  # DT_STRING
        return ctypes.string_at(v.u.s.ptr, v.u.s.len).decode("utf-8")
    if t == 9:  # DT_KEYWORD
        return _attr(ctypes.string_at(v.u.s.ptr, v.u.s.len))
    if t == 1:  # DT_BOOL
        return bool(v.u.b)
    if t == 3:  # DT_DOUBLE
        return v.u.d
    if t == 7:  # DT_INSTANT
        return _instant(v.u.i)
    if t == 0:
        return None
    return unpack(_value_bytes(ctypes.addressof(v)))


def _datom(d):
    return Datom(d.e, _attr(d.a), _scalar(d.v), d.tx, d.added == 1)


class _Owner:
    """Tracks child handles so that closing a parent closes them first."""

    def _init_children(self):
        self._children = None  # a WeakSet once there is one

    def _adopt(self, child):
        if self._children is None:
            self._children = weakref.WeakSet()
        self._children.add(child)
        return child

    def _close_children(self):
        if self._children:
            for c in list(self._children):
                c.close()
            self._children.clear()


# {====== Reports ======


class Report(_Closeable):
    """What a transaction did.

    tx        the transaction id
    tempids   dict: tempid as written (str or negative int) -> entity id
    datoms    list of Datom added (added=True) or retracted, in order
    db_before, db_after
              snapshots before and after (None for reports of blocks and
              async transactions); valid until the report is closed
              (close() or the with statement; the connection closes it)
    """

    def __init__(self, handle, conn=None, owned=True):
        self.tx = L.dt_report_tx(handle)
        tp = L.dt_report_tempids(handle)
        t = _from_value(tp) if tp else None
        self.tempids = dict(t) if t else {}
        d = L.Datom()
        datoms = []
        for i in range(L.dt_report_count(handle)):
            if L.dt_report_datom(handle, i, byref(d)) != E.OK:
                break
            datoms.append(_datom(d))
        self.datoms = datoms
        self._h = None
        self._dbs = None
        if owned:
            before = L.dt_report_db_before(handle)
            if before and conn is not None:
                self._h = handle
                self._dbs = (
                    Db(before, conn, borrowed=True),
                    Db(L.dt_report_db_after(handle), conn, borrowed=True),
                )
                conn._adopt(self)
            else:
                L.dt_report_close(handle)

    @property
    def db_before(self):
        return self._dbs[0] if self._dbs else None

    @property
    def db_after(self):
        return self._dbs[1] if self._dbs else None

    def tempid(self, t):
        """The entity id a tempid got (KeyError if the tx had no such tempid)."""
        return self.tempids[t]

    def close(self):
        if self._h:
            for db in self._dbs:
                db._close_children()
                db._closed = True
            h, self._h, self._dbs = self._h, None, None
            L.dt_report_close(h)

    def __repr__(self):
        return "<Report tx=%d datoms=%d tempids=%r>" % (self.tx, len(self.datoms), self.tempids)


# }======

# {====== Snapshots and reads ======


def _opts(timeout, max_rows):
    if not timeout and not max_rows:
        return None
    o = L.QueryOptions(1, int((timeout or 0) * 1000), int(max_rows or 0), 0, None)
    return byref(o)


def _set_payload(data):
    """The payload of a msgpack ext 10 (a set) at the start of data, or None."""
    c = data[0] if data else 0
    if c == 0xC7 and data[2] == 10:
        return data[3:]
    if c == 0xC8 and data[3] == 10:
        return data[4:]
    if c == 0xC9 and data[5] == 10:
        return data[6:]
    if 0xD4 <= c <= 0xD8 and data[1] == 10:
        return data[2:]
    return None


def _shape(kind, data):
    if kind == _FIND_REL:
        payload = _set_payload(data)
        if payload is not None:
            # a set of distinct rows: build the Python set in one step
            rows = unpack_frozen(payload)
            try:
                return set(rows)
            except TypeError:  # rows holding maps (pull, :keys)
                return list(rows)
    v = unpack_frozen(data)
    if kind == _FIND_REL:
        if isinstance(v, frozenset):
            return set(v)
        return list(v)  # a multiset (:with) or rows that are maps
    if kind == _FIND_COLL:
        return list(v)
    return v


def q(query, *inputs, timeout=None, max_rows=None):
    """Runs a Datalog query with positional inputs, in :in order: a Db for
    each source ($), Python values (or Edn text) for the others.  Without
    :in the query takes one input, the database.

    The result is shaped by the :find spec: a set of tuples (a relation;
    a list of tuples when :with keeps duplicates; a list of dicts under
    :keys/:strs/:syms), a list (collection, [?x ...]), a value or None
    (scalar, ?x .), a tuple or None (tuple, [?x ?y]).  In results, vectors
    are tuples and sets frozensets, so that rows are hashable.

    timeout: seconds (DatoliteTimeoutError after it); max_rows: cap on
    intermediate rows (LimitError).
    """
    r = c_void_p()
    opts = _opts(timeout, max_rows)

    def run(arr, n):
        if isinstance(query, str):
            b = query.encode("utf-8")
            return L.dt_q_inputs(b, len(b), arr, n, opts, byref(r))
        pq = c_void_p()
        with _CValue(query) as qv:
            rc = L.dt_query_prepare_value(qv.ref(), byref(pq))
        if rc == E.OK:
            rc = L.dt_query_run(pq, arr, n, opts, byref(r))
            L.dt_query_free(pq)
        return rc

    _with_inputs(inputs, run)
    try:
        kind = L.dt_result_kind(r)
        p = c_void_p()
        ln = c_size_t()
        rc = L.dt_result_msgpack_unordered(r, byref(p), byref(ln))
        if rc:
            _raise(rc)
        data = _take(p, ln.value)
    finally:
        L.dt_result_free(r)
    return _shape(kind, data)


def explain(query, *inputs, timeout=None, max_rows=None):
    """Runs a query (text) through the planner and returns the plan it
    used as a dict ({K.rows: n, K.steps: [...]}; docs/query.md, "Explain")."""
    b = _text(query)
    p = c_void_p()
    opts = _opts(timeout, max_rows)
    _with_inputs(inputs, lambda arr, n: L.dt_explain(b, len(b), arr, n, opts, byref(p), None))
    return read_edn(_take(p))


def _with_inputs(inputs, run):
    """Builds the dt_input array of `inputs`, calls run(array, n) with the
    databases locked, and raises on its result code."""
    n = len(inputs)
    arr = (L.Input * n)()
    dbs = []
    vals = []
    for i, x in enumerate(inputs):
        if isinstance(x, Db):
            x._check()
            arr[i].db = x._h
            dbs.append(x)
        elif isinstance(x, Edn):
            b = _text(x.text)
            arr[i].edn = b
            arr[i].edn_len = len(b)
        else:
            vals.append((i, x))
    cv = _CValue([x for _, x in vals]) if vals else None
    try:
        if cv is not None:
            base = cv.items()
            for k, (i, _) in enumerate(vals):
                arr[i].value = base + k * L.VALUE_SIZE
        locks = sorted({id(d): d._lock for d in dbs}.items())
        for _, lk in locks:
            lk.acquire()
        try:
            rc = run(arr, n)
            if rc:
                _raise(rc)
        finally:
            for _, lk in locks:
                lk.release()
    finally:
        if cv is not None:
            cv.close()


class Db(_Owner, _Closeable):
    """An immutable snapshot of the database (conn.db()), or the view of a
    write block (tx.db()) or of a transaction function's call.

    Use it from one thread at a time (a lock enforces this); release it
    with close() or a with statement when done: while it lives the file
    cannot reuse pages freed after it.
    """

    def __init__(self, handle, conn, borrowed=False):
        self._h = handle
        self._conn = conn
        self._borrowed = borrowed  # a report's or a call's: not ours to close
        self._lock = threading.RLock()
        self._closed = False
        self._init_children()

    def _check(self):
        if self._closed:
            raise E.MisuseError(E.MISUSE, "this database view is closed")

    @property
    def basis_tx(self):
        """The id of the last transaction this snapshot sees (0: none)."""
        self._check()
        return L.dt_db_basis_tx(self._h)

    def q(self, query, *inputs, timeout=None, max_rows=None):
        """q(query, self, *inputs): this database is the first input ($)."""
        return q(query, self, *inputs, timeout=timeout, max_rows=max_rows)

    def explain(self, query, *inputs, **kw):
        """explain(query, self, *inputs): the plan the query ran with."""
        return explain(query, self, *inputs, **kw)

    def _pattern_text(self, pattern):
        return pattern.encode("utf-8") if isinstance(pattern, str) else write_edn(pattern).encode("utf-8")

    def _pull_in(self, pull, *args):
        """Python value of a pull into an arena of its own (no allocation
        per part of the result), the arena freed after its encoding."""
        arena = c_void_p()
        if L.dt_arena_new(byref(arena)):
            raise MemoryError("datolite: out of memory for a pull")
        try:
            out = L.Value()
            rc = pull(self._h, *args, arena, byref(out))
            if rc:
                _raise(rc, self._h)
            return unpack(_value_bytes(byref(out)))
        finally:
            L.dt_arena_free(arena)

    def pull(self, pattern, eid):
        """The map pattern selects for entity eid (an id, an ident keyword or
        a lookup ref (attr, value)), or None when nothing matched."""
        pat = self._pattern_text(pattern)
        with _CValue(eid) as e, self._lock:
            self._check()
            return self._pull_in(L.dt_pull_in, pat, len(pat), e.ref())

    def pull_many(self, pattern, eids):
        """A list with one pulled map (or None) per entity reference."""
        pat = self._pattern_text(pattern)
        eids = list(eids)
        with _CValue(eids) as e, self._lock:
            self._check()
            return self._pull_in(L.dt_pull_many_in, pat, len(pat), e.items(), len(eids))

    def entid(self, ref):
        """The entity id of an id, ident keyword or lookup ref (NotFoundError)."""
        with _CValue(ref) as v, self._lock:
            self._check()
            out = c_int64()
            rc = L.dt_db_entid(self._h, v.ref(), byref(out))
            if rc:
                _raise(rc, self._h)
            return out.value

    def entity(self, ref):
        """A lazy, read-only mapping of one entity's attributes."""
        with _CValue(ref) as v, self._lock:
            self._check()
            h = c_void_p()
            rc = L.dt_entity_get(self._h, v.ref(), byref(h))
            if rc:
                _raise(rc, self._h)
        return self._adopt(Entity(self, h.value))

    def _components(self, index, components):
        if isinstance(index, Keyword):
            index = str(index)[1:]
        idx = _INDEXES.get(str(index).lower())
        if idx is None:
            raise ValueError("index must be 'eav' or 'ave', got %r" % (index,))
        return idx, _CValue(list(components)) if components else None

    def datoms(self, index, *components):
        """Iterator of the Datoms of index ('eav' or 'ave') whose leading
        components equal `components` (eav: e, attr, value; ave: attr,
        value, e)."""
        return self._iter(L.dt_db_datoms, index, components)

    def seek_datoms(self, index, *components):
        """Iterator of the Datoms of index from the first >= components."""
        return self._iter(L.dt_db_seek_datoms, index, components)

    def _iter(self, fn, index, components):
        idx, cv = self._components(index, components)
        try:
            with self._lock:
                self._check()
                it = c_void_p()
                rc = fn(self._h, idx, cv.items() if cv else None, len(components), byref(it))
                if rc:
                    _raise(rc, self._h)
        finally:
            if cv:
                cv.close()
        return self._adopt(DatomIter(self, it.value))

    def count_datoms(self, index, *components):
        """The number of datoms datoms(index, *components) would yield."""
        idx, cv = self._components(index, components)
        try:
            with self._lock:
                self._check()
                out = c_uint64()
                rc = L.dt_db_count_datoms(self._h, idx, cv.items() if cv else None, len(components), byref(out))
                if rc:
                    _raise(rc, self._h)
                return out.value
        finally:
            if cv:
                cv.close()

    def close(self):
        """Releases the snapshot (and its entities and iterators)."""
        with self._lock:
            if self._closed:
                return
            self._close_children()
            self._closed = True
            if not self._borrowed and self._h:
                L.dt_db_close(self._h)
            self._h = None

    def __repr__(self):
        return "<Db basis_tx=%s%s>" % (
            "?" if self._closed else L.dt_db_basis_tx(self._h),
            " closed" if self._closed else "",
        )


class DatomIter(_Closeable):
    """An iterator of Datoms over one index range (closed at its end)."""

    def __init__(self, db, handle):
        self._db = db
        self._h = handle

    def __iter__(self):
        return self

    def __next__(self):
        db = self._db
        with db._lock:
            if not self._h:
                raise StopIteration
            d = L.Datom()
            rc = L.dt_datom_iter_next(self._h, byref(d))
            if rc == E.ROW:
                return _datom(d)
            if rc == E.DONE:
                self.close()
                raise StopIteration
            m = _msg(self._h)
            self.close()
            raise E.make_error(rc, m)

    def close(self):
        with self._db._lock:
            if self._h:
                h, self._h = self._h, None
                L.dt_datom_iter_close(h)


class _RefHook:
    pass


class Entity(collections.abc.Mapping):
    """A lazy, read-only view of one entity of a snapshot: attributes are
    read the first time they are asked for.  Keys are attribute Keywords
    (or their text, "user/name" or ":user/name"); reverse names
    (K.user._friend, ":user/_friend") give the set of entities pointing
    here.  Ref values come back as Entity objects.  Iterating gives the
    entity's attribute keywords (reading all of them once)."""

    def __init__(self, db, handle):
        self._db = db
        self._h = handle
        self.id = L.dt_entity_id(handle)
        self._touched = None

    def _key(self, attr):
        if isinstance(attr, Keyword):
            return str(attr)[1:].encode("utf-8")
        if isinstance(attr, str):
            return attr.encode("utf-8")
        raise TypeError("attribute must be a Keyword or str, got %r" % (attr,))

    def _wrap(self, v, is_ref):
        if is_ref:
            return self._db.entity(v)
        return v

    def __getitem__(self, attr):
        key = self._key(attr)
        db = self._db
        with db._lock:
            db._check()
            if not self._h:
                raise E.MisuseError(E.MISUSE, "entity is closed")
            out = L.Value()
            rc = L.dt_entity_attr(self._h, key, byref(out))
            if rc == E.NOTFOUND:
                raise KeyError(attr)
            if rc:
                _raise(rc, self._h)
            t = out.type
            items = None
            if t == 12:  # DT_REF
                val = out.u.i
                L.dt_value_free(byref(out))
                return db.entity(val)
            if t == 18:  # DT_SET: refs become entities
                n = out.u.seq.n
                base = out.u.seq.items
                if n and L.Value.from_address(base).type == 12:
                    items = [L.Value.from_address(base + k * L.VALUE_SIZE).u.i for k in range(n)]
            if items is not None:
                L.dt_value_free(byref(out))
                return {db.entity(i) for i in items}
            return _take_value(out)

    def get(self, attr, default=None):
        """The value, or default when the entity has none or the schema
        does not know the attribute (entity[attr] raises KeyError /
        InvalidError for those)."""
        try:
            return self[attr]
        except (KeyError, E.InvalidError):
            return default

    def touch(self):
        """Every attribute as a dict (refs as {K.db.id: n} maps, components
        in full), as the library's touch gives it."""
        with self._db._lock:
            self._db._check()
            out = L.Value()
            rc = L.dt_entity_touch(self._h, byref(out))
            if rc:
                _raise(rc, self._h)
        return _take_value(out)

    def _keys(self):
        if self._touched is None:
            self._touched = [k for k in self.touch() if k is not Keyword("db/id")]
        return self._touched

    def __iter__(self):
        return iter(self._keys())

    def __len__(self):
        return len(self._keys())

    def __contains__(self, attr):
        try:
            self[attr]
            return True
        except (KeyError, E.InvalidError):
            return False

    def __eq__(self, other):
        return isinstance(other, Entity) and other.id == self.id and other._db is self._db

    def __hash__(self):
        return hash((Entity, self.id))

    def _datolite_ref(self):
        return self.id

    def close(self):
        if self._h:
            h, self._h = self._h, None
            L.dt_entity_close(h)

    def __del__(self):
        try:
            if self._h and not self._db._closed:
                with self._db._lock:
                    self.close()
        except Exception:
            pass

    def __repr__(self):
        return "<Entity %d>" % self.id


# }======
