"""Datolite for Python: an embedded Datalog database (docs/python.md).

    import datolite
    from datolite import K
    with datolite.connect("/tmp/db") as conn:
        conn.transact([{K.user.name: "Ann"}])
        with conn.db() as db:
            db.q('[:find ?n :where [_ :user/name ?n]]')   # {('Ann',)}
"""

from . import _lib
from .conn import Connection, Savepoint, Transaction, connect
from .core import Datom, DatomIter, Db, Entity, Report, explain, q, read_edn, write_edn
from .errors import (
    BusyError,
    ConflictError,
    CorruptError,
    DatoliteError,
    DatoliteIOError,
    DatoliteTimeoutError,
    InternalError,
    InterruptError,
    InvalidError,
    LimitError,
    MapFullError,
    MisuseError,
    NotFoundError,
    SchemaError,
    TxFunctionError,
    UserError,
    error_class,
)
from .values import BigInt, Char, Edn, K, Keyword, Symbol, Tagged, name, namespace

__version__ = _lib.dt_version().decode()
library_path = _lib.path

__all__ = [
    "connect", "Connection", "Transaction", "Savepoint", "Db", "Entity", "Report", "Datom",
    "DatomIter", "q", "explain", "read_edn", "write_edn", "K", "Keyword", "Symbol", "Char", "Tagged", "Edn",
    "BigInt", "name", "namespace", "DatoliteError", "NotFoundError", "InvalidError", "SchemaError",
    "ConflictError", "TxFunctionError", "MapFullError", "BusyError", "MisuseError", "CorruptError",
    "DatoliteIOError", "LimitError", "DatoliteTimeoutError", "InterruptError", "InternalError",
    "UserError", "error_class",
]
