"""Python values <-> the msgpack wire format of Datolite values.

The ext type numbers are those of enum dt_msgpack_ext in datolite.h
(docs/edn.md, "msgpack wire format").
"""

import datetime
import decimal
import struct
import threading
import uuid

import msgpack

EXT_KEYWORD = 1
EXT_SYMBOL = 2
EXT_UUID = 3
EXT_INSTANT = 4
EXT_BIGINT = 5
EXT_BIGDEC = 6
EXT_REF = 7
EXT_CHAR = 8
EXT_LIST = 9
EXT_SET = 10
EXT_TUPLE = 11
EXT_TAGGED = 12

_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1

_kw_lock = threading.Lock()
_keywords = {}


class Keyword:
    """An EDN keyword such as :user/name.

    Keyword(":user/name") and Keyword("user/name") are the same object
    (keywords are interned).  Attribute access extends the keyword, so
    that K.user.name is :user/name and K.db.type.string is
    :db.type/string; use namespace(k) and name(k) to take one apart.
    """

    __slots__ = ("_text", "_hash", "__weakref__")

    def __new__(cls, text):
        if isinstance(text, Keyword):
            return text
        if not isinstance(text, str):
            raise TypeError("Keyword text must be a str, got %r" % (text,))
        if text.startswith(":"):
            text = text[1:]
        kw = _keywords.get(text)
        if kw is not None:
            return kw
        if not text:
            raise ValueError("empty keyword")
        with _kw_lock:
            kw = _keywords.get(text)
            if kw is None:
                kw = object.__new__(cls)
                object.__setattr__(kw, "_text", text)
                object.__setattr__(kw, "_hash", hash((Keyword, text)))
                _keywords[text] = kw
        return kw

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        t = self._text
        ns, sep, nm = t.rpartition("/")
        base = (ns + "." + nm) if sep else t
        return Keyword(base + "/" + attr)

    def __setattr__(self, k, v):
        raise AttributeError("keywords are immutable")

    def __call__(self, *a, **k):
        raise TypeError("a Keyword is not callable (did you mean K(...)?)")

    def __hash__(self):
        return self._hash

    def __eq__(self, other):
        return self is other

    def __ne__(self, other):
        return self is not other

    def __lt__(self, other):
        if not isinstance(other, Keyword):
            return NotImplemented
        return self._text < other._text

    def __str__(self):
        return ":" + self._text

    def __repr__(self):
        return "Keyword(%r)" % (":" + self._text)

    def __reduce__(self):
        return (Keyword, (self._text,))


def namespace(kw):
    """The namespace of a keyword or symbol ("user" for :user/name), or None."""
    ns, sep, _ = kw._text.rpartition("/") if isinstance(kw, Keyword) else str(kw).rpartition("/")
    return ns if sep and ns else None


def name(kw):
    """The name of a keyword or symbol ("name" for :user/name)."""
    t = kw._text if isinstance(kw, Keyword) else str(kw)
    if t == "/":
        return t
    return t.rpartition("/")[2]


class _KRoot:
    """K.user.name -> Keyword(":user/name"); K("user/name") -> the same."""

    __slots__ = ()

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        return Keyword(attr)

    def __call__(self, text):
        return Keyword(text)

    def __repr__(self):
        return "K"


K = _KRoot()


class Symbol(str):
    """An EDN symbol (?e, my.ns/f): a str subclass kept apart from strings."""

    __slots__ = ()

    def __repr__(self):
        return "Symbol(%s)" % str.__repr__(self)


class Char(str):
    """An EDN character (\\a): a str of one code point."""

    __slots__ = ()

    def __new__(cls, c):
        if len(c) != 1:
            raise ValueError("Char needs exactly one code point")
        return str.__new__(cls, c)

    def __repr__(self):
        return "Char(%s)" % str.__repr__(self)


class Tagged:
    """An EDN tagged literal the library has no reader for: #tag value."""

    __slots__ = ("tag", "value")

    def __init__(self, tag, value):
        self.tag = str(tag)
        self.value = value

    def __eq__(self, other):
        return isinstance(other, Tagged) and (self.tag, self.value) == (other.tag, other.value)

    def __hash__(self):
        return hash((Tagged, self.tag))

    def __repr__(self):
        return "Tagged(%r, %r)" % (self.tag, self.value)


class Edn:
    """EDN text given where a value is expected (a query input such as a
    rules vector): Edn('[[(follows ?a ?b) [?a :follows ?b]]]')."""

    __slots__ = ("text",)

    def __init__(self, text):
        self.text = text

    def __repr__(self):
        return "Edn(%r)" % (self.text,)


_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
_MS = datetime.timedelta(milliseconds=1)
_BE64 = struct.Struct(">q")
_BEU32 = struct.Struct(">I")


def _instant_ms(dt):
    if isinstance(dt, datetime.datetime):
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=datetime.timezone.utc)
        return (dt - _EPOCH) // _MS
    # a date: midnight UTC
    return (datetime.datetime(dt.year, dt.month, dt.day, tzinfo=datetime.timezone.utc) - _EPOCH) // _MS


def _default(o):
    t = type(o)
    if t is Keyword:
        return msgpack.ExtType(EXT_KEYWORD, o._text.encode())
    if t is int or isinstance(o, int):
        # only ints outside int64..uint64 reach here (see _fix_bigints)
        return msgpack.ExtType(EXT_BIGINT, str(int(o)).encode())
    if isinstance(o, (set, frozenset)):
        return msgpack.ExtType(EXT_SET, _pack(list(o)))
    if isinstance(o, uuid.UUID):
        return msgpack.ExtType(EXT_UUID, o.bytes)
    if isinstance(o, (datetime.datetime, datetime.date)):
        return msgpack.ExtType(EXT_INSTANT, _BE64.pack(_instant_ms(o)))
    if isinstance(o, decimal.Decimal):
        if not o.is_finite():
            raise ValueError("bigdec must be finite, got %s" % o)
        return msgpack.ExtType(EXT_BIGDEC, str(o).encode())
    if isinstance(o, Symbol):
        return msgpack.ExtType(EXT_SYMBOL, str(o).encode())
    if isinstance(o, Char):
        return msgpack.ExtType(EXT_CHAR, _BEU32.pack(ord(o)))
    if isinstance(o, Tagged):
        return msgpack.ExtType(EXT_TAGGED, _pack([o.tag, o.value]))
    if isinstance(o, tuple):
        return list(o)
    if isinstance(o, BigInt):
        return msgpack.ExtType(EXT_BIGINT, str(int(o)).encode())
    if isinstance(o, (bytearray, memoryview)):
        return bytes(o)
    if hasattr(o, "_datolite_ref"):
        return o._datolite_ref()
    if isinstance(o, dict):
        return dict(o)
    if isinstance(o, list):
        return list(o)
    if isinstance(o, str):
        return str(o)
    if isinstance(o, float):
        return float(o)
    if isinstance(o, bytes):
        return bytes(o)
    raise TypeError("datolite cannot send a value of type %s: %r" % (type(o).__name__, o))


class BigInt(int):
    """An int sent as a bigint (outside the int64 range it is one anyway)."""

    __slots__ = ()


def _fix_bigints(o):
    """Copy of o with ints below int64 wrapped (msgpack cannot send them)."""
    if isinstance(o, int) and not isinstance(o, bool):
        return BigInt(o) if (o < _INT64_MIN or o > _INT64_MAX) else o
    if isinstance(o, (list, tuple)):
        return [_fix_bigints(x) for x in o]
    if isinstance(o, dict):
        return {_fix_bigints(k): _fix_bigints(v) for k, v in o.items()}
    if isinstance(o, (set, frozenset)):
        return _SetBox([_fix_bigints(x) for x in o])
    return o


class _SetBox:
    __slots__ = ("items",)

    def __init__(self, items):
        self.items = items

    def _datolite_ref(self):
        return msgpack.ExtType(EXT_SET, _pack(self.items))


def _pack_strict(o):
    return msgpack.packb(o, default=_default, use_bin_type=True, strict_types=True)


def _pack(o):
    """Python value -> msgpack bytes of the Datolite value."""
    try:
        return _pack_strict(o)
    except OverflowError:
        return _pack_strict(_fix_bigints(o))


def pack(o):
    return _pack(o)


def _instant(ms):
    return _EPOCH + datetime.timedelta(milliseconds=ms)


def _set_of(data, kind, fallback):
    """A set's items, decoded hashable, as kind(items), or fallback(items)
    when an item cannot be hashed."""
    items = unpack_frozen(data)
    try:
        return kind(items)
    except TypeError:
        return fallback(items)


def _ext_thaw(code, data):
    if code == EXT_KEYWORD:
        return Keyword(data.decode())
    if code == EXT_SET:
        return _set_of(data, set, list)
    if code == EXT_TUPLE:
        return tuple(unpack(data))
    if code == EXT_LIST:
        return unpack(data)
    return _ext_scalar(code, data, unpack)


def _ext_frozen(code, data):
    if code == EXT_KEYWORD:
        return Keyword(data.decode())
    if code == EXT_SET:
        return _set_of(data, frozenset, tuple)
    if code in (EXT_TUPLE, EXT_LIST):
        return unpack_frozen(data)
    return _ext_scalar(code, data, unpack_frozen)


def _ext_scalar(code, data, decode):
    """The scalar extension types; decode (unpack or unpack_frozen) reads a
    tagged literal's payload."""
    if code == EXT_UUID:
        return uuid.UUID(bytes=data)
    if code == EXT_INSTANT:
        return _instant(_BE64.unpack(data)[0])
    if code == EXT_BIGINT:
        return int(data)
    if code == EXT_BIGDEC:
        return decimal.Decimal(data.decode())
    if code == EXT_REF:
        return _BE64.unpack(data)[0]
    if code == EXT_SYMBOL:
        return Symbol(data.decode())
    if code == EXT_CHAR:
        return Char(chr(_BEU32.unpack(data)[0]))
    if code == EXT_TAGGED:
        tag, v = decode(data)
        return Tagged(tag, v)
    return msgpack.ExtType(code, data)


def unpack(data):
    """msgpack bytes of a Datolite value -> Python (vectors as lists)."""
    return msgpack.unpackb(data, ext_hook=_ext_thaw, raw=False, strict_map_key=False)


def unpack_frozen(data):
    """The same, hashable where it can be (vectors as tuples, sets frozen)."""
    return msgpack.unpackb(data, use_list=False, ext_hook=_ext_frozen, raw=False, strict_map_key=False)
