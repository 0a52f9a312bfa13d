"""The conformance cases of the shared folder (conformance/README.md), run
through the Python package: datasets, tx-data and inputs are read with the
library's EDN reader into Python values and go back through the binding."""

import math
import os

import pytest

import datolite
from datolite import K, Keyword

SHARED = os.environ.get("DT_SHARED_DIR") or os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "shared")
CASES_FILE = os.path.join(SHARED, "conformance", "cases.edn")

if not os.path.exists(CASES_FILE):  # pragma: no cover
    pytest.skip("no conformance data (set DT_SHARED_DIR)", allow_module_level=True)

with open(CASES_FILE, encoding="utf-8") as f:
    CASES = datolite.read_edn(f.read())


def _read(name):
    with open(os.path.join(SHARED, "conformance", "datasets", name), encoding="utf-8") as f:
        return datolite.read_edn(f.read())


@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
    opened = {}

    def get(name):
        if name not in opened:
            d = str(tmp_path_factory.mktemp("conf") / name)
            c = datolite.connect(d, _read(name + ".schema.edn"), nosync=True)
            c.transact(_read(name + ".edn")).close()
            opened[name] = c
        return opened[name]

    yield get
    for c in opened.values():
        c.close()


def norm(v, sets=False):
    """A hashable canonical form: numbers compare numerically (floats to 9
    significant digits), vectors inside pulled maps as sets when sets."""
    if isinstance(v, bool) or v is None:
        return v
    if isinstance(v, (int, float)):
        if isinstance(v, float) and math.isnan(v):
            return ("nan",)
        return ("n", float("%.9g" % v) if isinstance(v, float) or abs(v) < 2**53 else v)
    if isinstance(v, dict):
        return ("map", frozenset((norm(k), norm(x, sets)) for k, x in v.items()))
    if isinstance(v, (set, frozenset)):
        return ("set", frozenset(norm(x, sets) for x in v))
    if isinstance(v, (list, tuple)):
        if sets:
            return ("set", frozenset(norm(x, sets) for x in v))
        return ("vec", tuple(norm(x, sets) for x in v))
    return v


def multiset(rows, sets=False):
    out = {}
    for r in rows:
        # a row keeps its column order; inside cells, pulled vectors are sets
        k = tuple(norm(x, sets) for x in r) if isinstance(r, (list, tuple)) else norm(r, sets)
        out[k] = out.get(k, 0) + 1
    return out


def value_input(text):
    # rules (list forms) go as EDN text; everything else as Python values
    return datolite.Edn(text) if "(" in text else datolite.read_edn(text)


def compare(case, got):
    exp = case[K.expect]
    t = exp[K.type]
    if t in (K.relation, Keyword("relation-maps")):
        want = exp[K.rows]
        rows = list(got)
        if exp.get(K.distinct):
            assert len(set(map(norm, rows))) == len(rows)
        s = "pull" in case[K.query]
        assert multiset(rows, s) == multiset(want, s)
    elif t == K.collection:
        assert multiset(got) == multiset(exp[K.items])
    elif t in (K.scalar, K.tuple):
        s = "pull" in case[K.query]
        assert norm(got, s) == norm(exp[K.value], s)
    elif t in (K.pull, Keyword("pull-many")):
        assert norm(got, sets=True) == norm(exp[K.value], sets=True)
    else:  # pragma: no cover
        raise AssertionError("unknown expectation %r" % t)


def run_read(case, conn):
    op = case[K.op]
    inputs = case.get(K.inputs, [])
    with conn.db() as db:
        if op == K.q:
            args = [db if x == "$" else value_input(x) for x in inputs]
            if not args and ":in" not in case[K.query]:
                args = [db]  # no :in: the query takes the database
            return datolite.q(case[K.query], *args)
        if op == K.pull:
            return db.pull(case[K.query], datolite.read_edn(inputs[0]))
        return db.pull_many(case[K.query], datolite.read_edn(inputs[0]))


READS = [c for c in CASES if c[K.op] in (K.q, K.pull, Keyword("pull-many"))]
TXS = [c for c in CASES if c[K.op] == K.tx]


@pytest.mark.parametrize("case", READS, ids=[c[K.id] for c in READS])
def test_read_case(case, datasets):
    conn = datasets(case[K.dataset])
    want_error = case[K.expect][K.type] == K.error
    try:
        got = run_read(case, conn)
    except datolite.DatoliteError:
        if want_error or case.get(Keyword("error-allowed")):
            return
        raise
    assert not want_error, "expected an error, got %r" % (got,)
    if case.get(Keyword("known-divergence")):
        return
    compare(case, got)


def user_datoms(db):
    return {
        (d.e, d.a, d.v)
        for d in db.datoms("eav")
        if datolite.namespace(d.a) != "db" and d.e < datolite_tx0
    }


datolite_tx0 = 1 << 42


@pytest.mark.parametrize("case", TXS, ids=[c[K.id] for c in TXS])
def test_tx_case(case, tmp_path):
    exp = case[K.expect]
    with datolite.connect(str(tmp_path / "db"), case.get(K.schema) or {}, nosync=True) as conn:
        if case.get(K.dataset):
            conn.transact(_read(case[K.dataset] + ".edn")).close()
        if case.get(Keyword("seed-tx")):
            conn.transact(datolite.read_edn(case[Keyword("seed-tx")])).close()
        reports = []
        try:
            for t in case[K.txs]:
                r = conn.transact(datolite.read_edn(t))
                reports.append(r)
                r.close()
        except datolite.DatoliteError:
            if exp[K.type] == K.error or case.get(Keyword("error-allowed")):
                return
            raise
        assert exp[K.type] != K.error, "expected an error"
        with conn.db() as db:
            assert {norm(list(d)) for d in user_datoms(db)} == {norm(d) for d in exp[K.datoms]}
        for r, want in zip(reports, exp.get(K.reports, [])):
            assert norm(r.tempids) == norm(want[K.tempids])
            got = [
                [d.e, d.a, d.v, d.added]
                for d in r.datoms
                if d.e < datolite_tx0
            ]
            assert multiset(got) == multiset(want[Keyword("tx-data")])
