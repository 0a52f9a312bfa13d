"""Python callables registered as query functions (query_functions=)."""

import threading

import pytest

import datolite
from datolite import K

SCHEMA = {K.p.name: {K.db.valueType: K.db.type.string}, K.p.age: {K.db.valueType: K.db.type.long}}
PEOPLE = [{K.p.name: "ann", K.p.age: 33}, {K.p.name: "bob", K.p.age: 12}, {K.p.name: "cid", K.p.age: 70}]


def open_with(dbdir, fns):
    c = datolite.connect(dbdir, SCHEMA, nosync=True, query_functions=fns)
    c.transact(PEOPLE)
    return c


def test_predicate_and_function_forms(dbdir):
    seen = []

    def adult(age):
        seen.append(age)
        return age >= 18

    def score(age, k):
        return age * 10 + k

    with open_with(dbdir, {"acme/adult?": adult, K.acme.score: score}) as c:
        rows = c.q("[:find ?n ?s :where [?e :p/name ?n] [?e :p/age ?a] [(acme/adult? ?a)] [(acme/score ?a 2) ?s]]")
        assert sorted(rows) == [("ann", 332), ("cid", 702)]
        assert sorted(seen) == [12, 33, 70]


def test_none_result_drops_the_row(dbdir):
    with open_with(dbdir, {"acme/big": lambda a: a if a > 30 else None}) as c:
        rows = c.q("[:find ?n ?b :where [?e :p/name ?n] [?e :p/age ?a] [(acme/big ?a) ?b]]")
        assert sorted(rows) == [("ann", 33), ("cid", 70)]


def test_collection_binding_and_values_cross(dbdir):
    def spread(name, n):
        return [name + str(i) for i in range(n)]

    def echo(x):
        return x

    with open_with(dbdir, {"acme/spread": spread, "acme/echo": echo}) as c:
        rows = c.q("[:find [?x ...] :where [?e :p/name \"bob\"] [?e :p/age ?a] [(acme/spread \"b\" 3) [?x ...]]]")
        assert sorted(rows) == ["b0", "b1", "b2"]
        # keywords, doubles and maps come back as they went in
        assert c.q("[:find ?y . :where [(acme/echo :k/w) ?y]]") is K.k.w
        assert c.q("[:find ?y . :where [(acme/echo 2.5) ?y]]") == 2.5


def test_exception_fails_the_query_with_the_python_message(dbdir):
    def boom(age):
        raise ValueError("no age %d" % age)

    def refuse(age):
        raise datolite.ConflictError(datolite.errors.CONFLICT, "refused %d" % age)

    with open_with(dbdir, {"acme/boom": boom, "acme/refuse": refuse}) as c:
        with pytest.raises(datolite.TxFunctionError) as ei:
            c.q("[:find ?s :where [?e :p/age ?a] [(acme/boom ?a) ?s]]")
        assert "ValueError: no age" in str(ei.value) and "acme/boom" in str(ei.value)
        with pytest.raises(datolite.ConflictError, match="refused"):
            c.q("[:find ?e :where [?e :p/age ?a] [(acme/refuse ?a)]]")
        # the connection still works
        assert c.q("[:find (count ?e) . :where [?e :p/age]]") == 3


def test_unknown_and_tx_function_kinds_stay_apart(dbdir):
    with datolite.connect(dbdir, SCHEMA, nosync=True, functions={"acme/tx": lambda db: []},
                          query_functions={"acme/q": lambda x: x}) as c:
        with pytest.raises(datolite.InvalidError):
            c.q("[:find ?y . :where [(acme/tx 1) ?y]]")
        with pytest.raises(datolite.TxFunctionError):
            c.call("acme/q", 1)
        assert c.q("[:find ?y . :where [(acme/q 1) ?y]]") == 1


def test_lua_source_as_query_function(dbdir):
    with open_with(dbdir, {"acme/double": "return function(x) return x * 2 end"}) as c:
        assert c.q("[:find ?y . :where [?e :p/name \"bob\"] [?e :p/age ?a] [(acme/double ?a) ?y]]") == 24


def test_bad_entry_is_a_type_error(dbdir):
    with pytest.raises(TypeError, match="query_functions"):
        datolite.connect(dbdir, query_functions={"acme/x": 3})


def test_two_threads_query_concurrently(dbdir):
    calls = []
    lock = threading.Lock()

    def tag(name, k):
        with lock:
            calls.append(threading.get_ident())
        return "%s-%d" % (name, k)

    errors = []
    results = {}
    with open_with(dbdir, {"acme/tag": tag}) as c:
        start = threading.Barrier(2)

        def worker(k):
            try:
                start.wait()
                for _ in range(50):
                    rows = c.q("[:find ?t :in $ ?k :where [?e :p/name ?n] [(acme/tag ?n ?k) ?t]]", k)
                    assert sorted(rows) == [("ann-%d" % k,), ("bob-%d" % k,), ("cid-%d" % k,)]
                results[k] = True
            except BaseException as e:  # reported below
                errors.append(e)

        ts = [threading.Thread(target=worker, args=(k,)) for k in (1, 2)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
    assert errors == []
    assert results == {1: True, 2: True}
    assert len(calls) == 2 * 50 * 3 and len(set(calls)) == 2
