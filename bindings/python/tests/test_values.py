import datetime
import decimal
import math
import uuid

import pytest

import datolite
from datolite import Char, K, Keyword, Symbol, Tagged

UTC = datetime.timezone.utc

SCALARS = [
    0,
    1,
    -1,
    (1 << 63) - 1,
    -(1 << 63),
    1 << 63,  # beyond int64: a bigint
    -(1 << 63) - 1,
    10**40,
    -(10**40),
    0.5,
    -0.0,
    float("inf"),
    float("-inf"),
    1e308,
    "",
    "plain",
    "unicode: éß漢字 😀 \u2028",
    "nul \x00 inside",
    b"",
    b"\x00\x01\xff bytes",
    True,
    False,
    K.user.name,
    K.plain,
    uuid.UUID("12345678-1234-5678-1234-567812345678"),
    datetime.datetime(2024, 2, 29, 12, 30, 15, 123000, tzinfo=UTC),
    datetime.datetime(1969, 7, 20, 20, 17, 40, tzinfo=UTC),
    decimal.Decimal("1.50"),
    decimal.Decimal("-12345678901234567890.000001"),
    Symbol("?x"),
    Char("é"),
]


def echo(v):
    # the value goes into the library and back as a query input
    return datolite.q("[:find ?x . :in ?x]", v)


@pytest.mark.parametrize("v", SCALARS, ids=repr)
def test_scalar_round_trip_through_the_library(v):
    got = echo(v)
    assert type(got) is type(v) or (isinstance(v, int) and type(got) is int)
    assert got == v
    if isinstance(v, float) and v == 0:
        assert math.copysign(1, got) == math.copysign(1, v)


def test_nan_round_trips():
    assert math.isnan(echo(float("nan")))


def test_naive_datetime_is_utc():
    assert echo(datetime.datetime(2020, 1, 1)) == datetime.datetime(2020, 1, 1, tzinfo=UTC)


def test_collections_round_trip():
    v = {K.a: [1, "two", (3, 4)], "k": {K.b, K.c}, 5: None, K.t: Tagged("my/tag", [1])}
    assert datolite.write_edn(v[K.t]) == "#my/tag [1]"
    del v[K.t]
    assert datolite.read_edn(datolite.write_edn(v)) == {K.a: [1, "two", [3, 4]], "k": {K.b, K.c}, 5: None}
    v[K.t] = Tagged("my/tag", [1])
    assert datolite.q("[:find ?x . :in ?x]", [v]) == ({K.a: (1, "two", (3, 4)), "k": frozenset({K.b, K.c}), 5: None, K.t: Tagged("my/tag", (1,))},)


def test_edn_reader():
    assert datolite.read_edn('{:a [1 2.5 "s" #{:k} nil true] :b #inst "2020-01-01T00:00:00Z"}') == {
        K.a: [1, 2.5, "s", {K.k}, None, True],
        K.b: datetime.datetime(2020, 1, 1, tzinfo=UTC),
    }
    assert datolite.read_edn("123456789012345678901234567890N") == 123456789012345678901234567890
    assert datolite.read_edn("1.50M") == decimal.Decimal("1.50")
    assert datolite.read_edn("(1 2)") == [1, 2]
    assert datolite.write_edn([K.a, "x", 1]) == '[:a "x" 1]'
    with pytest.raises(datolite.InvalidError, match="1:"):
        datolite.read_edn("[1 2")


def test_unsendable_value():
    with pytest.raises(TypeError, match="object"):
        datolite.q("[:find ?x . :in ?x]", object())
    with pytest.raises(ValueError):
        datolite.q("[:find ?x . :in ?x]", decimal.Decimal("NaN"))


STORED = {
    "long_max": ((1 << 63) - 1),
    "long_min": -(1 << 63),
    "big": 10**30,
    "dbl": 2.25,
    "nan": float("nan"),
    "str": "héllo 😀",
    "bytes": b"\x00\xff",
    "bool": False,
    "kw": K.some.kw,
    "uuid": uuid.UUID(int=7),
    "inst": datetime.datetime(2001, 9, 9, 1, 46, 40, tzinfo=UTC),
    "dec": decimal.Decimal("3.140"),
}


def test_stored_values_round_trip(tmp_path):
    schema = {K.v.tup: {K.db.valueType: K.db.type.tuple, }}
    with datolite.connect(str(tmp_path / "db"), schema) as c:
        ent = {K.db.id: "e", K.v.tup: (7, "seven")}
        for k, v in STORED.items():
            ent[K("v/" + k)] = v
        e = c.transact([ent]).tempids["e"]
        with c.db() as db:
            got = db.pull("[*]", e)
            ent_view = db.entity(e)
            for k, v in STORED.items():
                for value in (got[K("v/" + k)], ent_view[K("v/" + k)], db.q("[:find ?v . :in $ ?e ?a :where [?e ?a ?v]]", e, K("v/" + k))):
                    if isinstance(v, float) and math.isnan(v):
                        assert math.isnan(value)
                    else:
                        assert value == v and type(value) is type(v), (k, value)
            assert got[K.v.tup] == (7, "seven")
            assert [d.v for d in db.datoms("eav", e, K.v.tup)] == [(7, "seven")]
