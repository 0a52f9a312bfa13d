"""Loading libdatolite and declaring the C functions the package calls.

Only declarations of include/datolite.h are used.  ctypes.CDLL releases
the GIL around every foreign call, so queries, commits and waits run
while other Python threads go on.
"""

import ctypes
import ctypes.util
import glob
import os
from ctypes import (
    CFUNCTYPE,
    POINTER,
    Structure,
    Union,
    c_char_p,
    c_double,
    c_float,
    c_int,
    c_int64,
    c_size_t,
    c_uint,
    c_uint8,
    c_uint32,
    c_uint64,
    c_void_p,
)

_HERE = os.path.dirname(os.path.abspath(__file__))
# bindings/python/datolite -> the repository root
_ROOT = os.path.normpath(os.path.join(_HERE, "..", "..", ".."))
_NAMES = ("libdatolite.so", "libdatolite.dylib")
_BUILD_DIRS = ("build/rel", "build/release", "build/Release", "build", "build-release")


def _candidates():
    env = os.environ.get("DATOLITE_LIBRARY")
    if env:
        yield env
        return
    for d in _BUILD_DIRS:
        for n in _NAMES:
            yield os.path.join(_ROOT, d, n)
    for n in _NAMES:
        for p in sorted(glob.glob(os.path.join(_ROOT, "build", "*", n))):
            yield p
    found = ctypes.util.find_library("datolite")
    if found:
        yield found


def _load():
    tried = []
    for path in _candidates():
        if os.path.sep in path and not os.path.exists(path):
            tried.append(path)
            continue
        try:
            return ctypes.CDLL(path), path
        except OSError as e:
            tried.append("%s (%s)" % (path, e))
    raise ImportError(
        "datolite: cannot find libdatolite; build it (cmake --build build/rel "
        "--target datolite_shared) or set DATOLITE_LIBRARY to its path. Tried: "
        + "; ".join(tried)
    )


lib, path = _load()


class _Str(Structure):
    _fields_ = [("ptr", c_void_p), ("len", c_size_t)]


class _Seq(Structure):
    _fields_ = [("items", c_void_p), ("n", c_size_t)]


class _U(Union):
    _fields_ = [
        ("b", c_int),
        ("i", c_int64),
        ("d", c_double),
        ("f", c_float),
        ("c", c_uint32),
        ("s", _Str),
        ("uuid", c_uint8 * 16),
        ("seq", _Seq),
    ]


class Value(Structure):
    """struct dt_value"""

    _fields_ = [("type", c_int), ("u", _U)]


VALUE_SIZE = ctypes.sizeof(Value)


class Datom(Structure):
    """struct dt_datom"""

    _fields_ = [
        ("e", c_int64),
        ("a", c_char_p),
        ("v", Value),
        ("tx", c_int64),
        ("added", c_int),
    ]


class Input(Structure):
    """struct dt_input"""

    _fields_ = [
        ("db", c_void_p),
        ("value", c_void_p),
        ("edn", c_char_p),
        ("edn_len", c_size_t),
    ]


class QueryOptions(Structure):
    _fields_ = [
        ("version", c_uint),
        ("timeout_ms", c_uint32),
        ("max_rows", c_uint64),
        ("plan", c_int),
        ("cancel", c_void_p),
    ]


class KvOptions(Structure):
    _fields_ = [
        ("version", c_uint),
        ("map_size", c_uint64),
        ("max_map_size", c_uint64),
        ("max_dbs", c_uint),
        ("max_readers", c_uint),
        ("flags", c_uint),
        ("file_mode", c_uint),
        ("grow_timeout_ms", c_uint),
    ]


# int (*)(dt_db *db, const dt_value *args, size_t nargs, dt_value *out, void *ud)
FN_IMPL = CFUNCTYPE(c_int, c_void_p, c_void_p, c_size_t, POINTER(Value), c_void_p)

# int (*)(const dt_value *args, size_t nargs, dt_value *out, void *ud)
QFN_IMPL = CFUNCTYPE(c_int, c_void_p, c_size_t, POINTER(Value), c_void_p)


class FnDef(Structure):
    _fields_ = [
        ("id", c_char_p),
        ("lang", c_int),
        ("fn", FN_IMPL),
        ("userdata", c_void_p),
        ("source", c_char_p),
        ("kind", c_char_p),
        ("qfn", QFN_IMPL),  # options version 3
    ]


class ConnOptions(Structure):
    _fields_ = [
        ("version", c_uint),
        ("kv", KvOptions),
        ("closed_schema", c_int),
        ("fns", POINTER(FnDef)),
        ("nfns", c_size_t),
        ("fn_memory", c_size_t),
        ("fn_steps", c_uint64),
    ]


P = c_void_p
PP = POINTER(c_void_p)
VP = POINTER(Value)
SZ = POINTER(c_size_t)


def _decl(name, res, *args):
    f = getattr(lib, name)
    f.restype = res
    f.argtypes = list(args)
    globals()[name] = f


_decl("dt_version", c_char_p)
_decl("dt_errstr", c_char_p, c_int)
_decl("dt_errmsg", c_char_p, P)
_decl("dt_errmsg_set", c_int, P, c_int, c_char_p, c_char_p)
_decl("dt_free", None, P)
_decl("dt_value_free", None, VP)
_decl("dt_msgpack_encode", c_int, VP, PP, SZ)
_decl("dt_msgpack_decode", c_int, c_char_p, c_size_t, VP, SZ)
_decl("dt_edn_read", c_int, c_char_p, c_size_t, VP)
_decl("dt_edn_write", c_int, VP, c_int, PP, SZ)
_decl("dt_conn_open", c_int, c_char_p, c_char_p, POINTER(ConnOptions), PP)
_decl("dt_conn_close", c_int, P)
_decl("dt_conn_update_schema_text", c_int, P, c_char_p, c_size_t)
_decl("dt_conn_schema", c_int, P, PP)
_decl("dt_conn_db", c_int, P, PP)
_decl("dt_conn_sync", c_int, P, c_int)
_decl("dt_db_close", None, P)
_decl("dt_db_basis_tx", c_int64, P)
_decl("dt_transact_value", c_int, P, VP, PP)
_decl("dt_report_tx", c_int64, P)
_decl("dt_report_count", c_size_t, P)
_decl("dt_report_datom", c_int, P, c_size_t, POINTER(Datom))
_decl("dt_report_tempids", VP, P)
_decl("dt_report_db_before", P, P)
_decl("dt_report_db_after", P, P)
_decl("dt_report_close", None, P)
_decl("dt_db_datoms", c_int, P, c_int, P, c_size_t, PP)
_decl("dt_db_seek_datoms", c_int, P, c_int, P, c_size_t, PP)
_decl("dt_datom_iter_next", c_int, P, POINTER(Datom))
_decl("dt_datom_iter_close", None, P)
_decl("dt_db_count_datoms", c_int, P, c_int, P, c_size_t, POINTER(c_uint64))
_decl("dt_db_entid", c_int, P, VP, POINTER(c_int64))
_decl("dt_pull_value", c_int, P, VP, VP, VP)
_decl("dt_pull", c_int, P, c_char_p, c_size_t, VP, VP)
_decl("dt_pull_many", c_int, P, c_char_p, c_size_t, P, c_size_t, VP)
_decl("dt_arena_new", c_int, PP)
_decl("dt_arena_free", None, P)
_decl("dt_pull_in", c_int, P, c_char_p, c_size_t, VP, P, VP)
_decl("dt_pull_many_in", c_int, P, c_char_p, c_size_t, P, c_size_t, P, VP)
_decl("dt_q_inputs", c_int, c_char_p, c_size_t, POINTER(Input), c_size_t, P, PP)
_decl("dt_query_prepare_value", c_int, VP, PP)
_decl("dt_explain", c_int, c_char_p, c_size_t, POINTER(Input), c_size_t, P, PP, SZ)
_decl("dt_query_run", c_int, P, POINTER(Input), c_size_t, P, PP)
_decl("dt_query_free", None, P)
_decl("dt_result_kind", c_int, P)
_decl("dt_result_count", c_size_t, P)
_decl("dt_result_msgpack_unordered", c_int, P, PP, SZ)
_decl("dt_result_free", None, P)
_decl("dt_txn_begin", c_int, P, PP)
_decl("dt_txn_transact_value", c_int, P, VP, PP)
_decl("dt_txn_db", c_int, P, PP)
_decl("dt_txn_commit", c_int, P)
_decl("dt_txn_abort", None, P)
_decl("dt_txn_call", c_int, P, c_char_p, P, c_size_t, PP)
_decl("dt_savepoint_create", c_int, P, PP)
_decl("dt_savepoint_rollback", c_int, P, P)
_decl("dt_savepoint_release", c_int, P, P)
_decl("dt_transact_async_value", c_int, P, VP, P, P, PP)
_decl("dt_call_async", c_int, P, c_char_p, P, c_size_t, P, P, PP)
_decl("dt_future_wait", c_int, P)
_decl("dt_future_tx", c_int64, P)
_decl("dt_future_report", P, P)
_decl("dt_future_errmsg", c_char_p, P)
_decl("dt_future_free", None, P)
_decl("dt_call", c_int, P, c_char_p, P, c_size_t, PP)
_decl("dt_entity_get", c_int, P, VP, PP)
_decl("dt_entity_close", None, P)
_decl("dt_entity_id", c_int64, P)
_decl("dt_entity_attr", c_int, P, c_char_p, VP)
_decl("dt_entity_touch", c_int, P, VP)
