"""Exceptions mapped from Datolite's result codes (enum dt_result_code)."""

OK = 0
NOTFOUND = 1
INVALID = 2
SCHEMA = 3
CONFLICT = 4
TXFN = 5
MAPFULL = 6
BUSY = 7
MISUSE = 8
NOMEM = 9
IO = 10
CORRUPT = 11
LIMIT = 12
TIMEOUT = 13
INTERNAL = 14
INTERRUPT = 15
ROW = 100
DONE = 101
USER_FIRST = 0x10000
USER_LAST = 0x1FFFF


class DatoliteError(Exception):
    """A failed library call: .code is the result code, .message the
    library's message (with context), str() both."""

    def __init__(self, code, message=""):
        self.code = code
        self.message = message
        super().__init__(message or "result code %d" % code)


class NotFoundError(DatoliteError, LookupError):
    """DT_NOTFOUND: no such entity, lookup ref or ident matches nothing."""


class InvalidError(DatoliteError, ValueError):
    """DT_INVALID: malformed input, wrong value type, bad argument."""


class SchemaError(DatoliteError):
    """DT_SCHEMA: schema violation."""


class ConflictError(DatoliteError):
    """DT_CONFLICT: :db/cas mismatch, unique value taken."""


class TxFunctionError(DatoliteError):
    """DT_TXFN: a transaction function failed."""


class MapFullError(DatoliteError):
    """DT_MAPFULL: the database file is full and may not grow."""


class BusyError(DatoliteError):
    """DT_BUSY: a resource is busy (reader slots, open snapshots)."""


class MisuseError(DatoliteError):
    """DT_MISUSE: API used in the wrong state (e.g. a closed handle)."""


class CorruptError(DatoliteError):
    """DT_CORRUPT: a corrupt file or malformed encoded input."""


class DatoliteIOError(DatoliteError, OSError):
    """DT_IO: the operating system refused."""


class LimitError(DatoliteError):
    """DT_LIMIT: a configured limit was reached."""


class DatoliteTimeoutError(DatoliteError, TimeoutError):
    """DT_TIMEOUT: a query deadline or wait timed out."""


class InterruptError(DatoliteError):
    """DT_INTERRUPT: cancelled on request."""


class InternalError(DatoliteError):
    """DT_INTERNAL: a bug in Datolite."""


class UserError(DatoliteError):
    """An application code (DT_USER_FIRST..DT_USER_LAST)."""


_BY_CODE = {
    NOTFOUND: NotFoundError,
    INVALID: InvalidError,
    SCHEMA: SchemaError,
    CONFLICT: ConflictError,
    TXFN: TxFunctionError,
    MAPFULL: MapFullError,
    BUSY: BusyError,
    MISUSE: MisuseError,
    NOMEM: MemoryError,
    IO: DatoliteIOError,
    CORRUPT: CorruptError,
    LIMIT: LimitError,
    TIMEOUT: DatoliteTimeoutError,
    INTERNAL: InternalError,
    INTERRUPT: InterruptError,
}


def error_class(code):
    """The exception class for a result code."""
    if USER_FIRST <= code <= USER_LAST:
        return UserError
    cls = _BY_CODE.get(code & 0xFF)
    if cls is None or cls is MemoryError:
        return DatoliteError
    return cls


def make_error(code, message):
    if code & 0xFF == NOMEM:
        return MemoryError(message or "datolite: out of memory")
    return error_class(code)(code, message)
