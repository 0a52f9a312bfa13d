import asyncio
import concurrent.futures
import threading
import time

import pytest

import datolite
from datolite import K, Keyword


def test_keyword_interned_and_helpers():
    assert Keyword(":user/name") is Keyword("user/name") is K.user.name
    assert K.db.type.string is Keyword(":db.type/string")
    assert K("a/b") is Keyword(":a/b")
    assert str(K.user.name) == ":user/name"
    assert datolite.namespace(K.user.name) == "user" and datolite.name(K.user.name) == "name"
    assert datolite.namespace(K.plain) is None and datolite.name(K.plain) == "plain"
    assert {K.a: 1}[Keyword("a")] == 1
    assert K.a != "a" and K.a != ":a"


def test_transact_report(conn):
    r = conn.transact([{K.db.id: "t1", K.user.name: "Dee", K.user.email: "dee@x"}])
    assert r.tx >= (1 << 42)
    assert set(r.tempids) == {"t1"}
    e = r.tempids["t1"]
    added = {(d.e, d.a, d.v) for d in r.datoms if d.added and d.a != K.db.txInstant}
    assert added == {(e, K.user.name, "Dee"), (e, K.user.email, "dee@x")}
    assert all(d.tx == r.tx for d in r.datoms)
    assert r.db_before.q("[:find ?e :where [?e :user/name]]") == set()
    assert r.db_after.q("[:find ?e :where [?e :user/name]]") == {(e,)}
    assert r.db_after.basis_tx == r.tx
    r.close()
    assert r.db_after is None


def test_upsert_and_retract(conn, people):
    r = conn.transact([{K.user.email: "ann@x", K.user.age: 32}])
    assert {(d.v, d.added) for d in r.datoms if d.a == K.user.age} == {(31, False), (32, True)}
    conn.transact([[K.db.retract, people["bob"], K.user.age, 25]])
    conn.transact([(K.db.retractEntity, [K.user.email, "cy@x"])])
    with conn.db() as db:
        assert db.q("[:find ?n ?a :where [?e :user/name ?n] [(get-else $ ?e :user/age 0) ?a]]") == {
            ("Ann", 32),
            ("Bob", 0),
        }


def test_query_shapes(conn, people):
    with conn.db() as db:
        assert db.q("[:find ?n :where [_ :user/name ?n]]") == {("Ann",), ("Bob",), ("Cy",)}
        assert sorted(db.q("[:find [?n ...] :where [_ :user/name ?n]]")) == ["Ann", "Bob", "Cy"]
        assert db.q("[:find ?a . :in $ ?n :where [?e :user/name ?n] [?e :user/age ?a]]", "Bob") == 25
        assert db.q("[:find ?a . :in $ ?n :where [?e :user/name ?n] [?e :user/age ?a]]", "Zed") is None
        assert db.q("[:find [?n ?a] :in $ ?n :where [?e :user/name ?n] [?e :user/age ?a]]", "Ann") == ("Ann", 31)
        assert db.q("[:find (count ?e) . :where [?e :user/name]]") == 3
        # :with keeps duplicates: a list
        assert db.q("[:find ?a :with ?e :where [?e :user/age ?a]]") == [(25,), (25,), (31,)] or sorted(
            db.q("[:find ?a :with ?e :where [?e :user/age ?a]]")
        ) == [(25,), (25,), (31,)]
        rows = db.q("[:find ?n ?a :keys name age :where [?e :user/name ?n] [?e :user/age ?a]]")
        assert sorted(rows, key=lambda m: m[K.name]) == [
            {K.name: "Ann", K.age: 31},
            {K.name: "Bob", K.age: 25},
            {K.name: "Cy", K.age: 25},
        ]
        # collection and relation inputs, rules as EDN text
        assert db.q("[:find [?e ...] :in $ [?n ...] :where [?e :user/name ?n]]", ["Ann", "Cy"]) and sorted(
            db.q("[:find [?e ...] :in $ [?n ...] :where [?e :user/name ?n]]", ("Ann", "Cy"))
        ) == sorted([people["ann"], people["cy"]])
        assert db.q("[:find ?n ?x :in $ [[?n ?x]] :where [_ :user/name ?n]]", [["Ann", 1], ["Nobody", 2]]) == {
            ("Ann", 1)
        }
        rules = datolite.Edn("[[(friend ?a ?b) [?a :user/friend ?b]]]")
        assert db.q("[:find ?n :in $ % :where [?e :user/name \"Cy\"] (friend ?e ?f) [?f :user/name ?n]]", rules) == {
            ("Ann",),
            ("Bob",),
        }
        # keyword and set values come back typed
        assert db.q("[:find ?t :where [_ :user/tag ?t]]") == {(K.admin,), (K.staff,)}
        # a query as data
        S = datolite.Symbol
        assert db.q([K.find, S("?n"), K.where, [S("?e"), K.user.age, 31], [S("?e"), K.user.name, S("?n")]]) == {
            ("Ann",)
        }
        # module-level q with two sources
        assert datolite.q("[:find ?n :in $a $b :where [$a ?e :user/name ?n] [$b ?e :user/age 25]]", db, db) == {
            ("Bob",),
            ("Cy",),
        }
        # conn.q on a fresh snapshot
        assert conn.q("[:find (count ?e) . :where [?e :user/email]]") == 3


def test_query_errors(conn, people):
    with conn.db() as db:
        with pytest.raises(datolite.InvalidError) as ei:
            db.q("[:find ?x :where [?e :user/name]")
        assert ei.value.code == 2 and "edn" in str(ei.value).lower()
        with pytest.raises(datolite.InvalidError, match="nope"):
            db.q("[:find ?x :where [?x :nope/nope 1]]")
        with pytest.raises(datolite.DatoliteError):
            db.q("[:find ?x :in $ ?y :where [?x :user/age ?y]]")  # missing input
        with pytest.raises(datolite.LimitError):
            db.q("[:find ?a ?b :where [?a :user/name] [?b :user/name]]", max_rows=2)


def test_pull(conn, people):
    with conn.db() as db:
        ann = db.pull("[:user/name :user/age]", people["ann"])
        assert ann == {K.user.name: "Ann", K.user.age: 31}
        cy = db.pull("[:user/name {:user/friend [:user/name]}]", [K.user.email, "cy@x"])
        assert cy[K.user.name] == "Cy"
        assert sorted(f[K.user.name] for f in cy[K.user.friend]) == ["Ann", "Bob"]
        assert db.pull([K.user.name, K.user._friend], people["ann"])[K.user._friend]
        assert db.pull("[:user/name]", 999) is None
        many = db.pull_many("[:user/name]", [people["ann"], 999, (K.user.email, "bob@x")])
        assert many == [{K.user.name: "Ann"}, None, {K.user.name: "Bob"}]
        assert db.pull("[*]", [K.user.email, "nobody@x"]) is None  # as DataScript
        with pytest.raises(datolite.InvalidError):
            db.pull("[{:user/name [:x]}]", people["ann"])


def test_entity(conn, people):
    with conn.db() as db:
        e = db.entity([K.user.email, "cy@x"])
        assert e.id == people["cy"]
        assert e[K.user.name] == "Cy" and e["user/age"] == 25 and e[":user/name"] == "Cy"
        friends = e[K.user.friend]
        assert isinstance(friends, set) and {f[K.user.name] for f in friends} == {"Ann", "Bob"}
        assert {x[K.user.name] for x in db.entity(people["ann"])[K.user._friend]} == {"Bob", "Cy"}
        assert set(e) == {K.user.email, K.user.name, K.user.age, K.user.friend}
        assert len(e) == 4 and K.user.name in e and K.user.tag not in e
        assert e.get(K.user.tag) is None
        with pytest.raises(KeyError):
            e[K.user.tag]
        assert db.entity(people["ann"])[K.user.tag] == {K.admin, K.staff}
        with pytest.raises(datolite.NotFoundError):
            db.entity([K.user.email, "zed@x"])


def test_datoms(conn, people):
    with conn.db() as db:
        ds = list(db.datoms("eav", people["ann"]))
        assert {(d.a, d.v) for d in ds} == {
            (K.user.email, "ann@x"),
            (K.user.name, "Ann"),
            (K.user.age, 31),
            (K.user.tag, K.admin),
            (K.user.tag, K.staff),
        }
        ages = [(d.v, d.e) for d in db.datoms("ave", K.user.age)]
        assert ages == sorted(ages) and len(ages) == 3
        assert [d.e for d in db.datoms("ave", K.user.age, 25)] == sorted([people["bob"], people["cy"]])
        assert db.count_datoms("ave", K.user.age, 25) == 2
        it = db.seek_datoms("ave", K.user.age, 30)
        first = next(it)
        assert first.v == 31
        it.close()
        with pytest.raises(datolite.InvalidError):
            db.datoms("eav", people["ann"], K.no.such)
        with pytest.raises(ValueError):
            db.datoms("vae")


def test_schema_and_errors(conn):
    with pytest.raises(datolite.InvalidError) as ei:
        conn.transact([{K.user.age: "not a number"}])
    assert ei.value.code == 2 and "user/age" in ei.value.message
    conn.transact([{K.user.email: "a@x", K.user.name: "A"}])
    r = conn.transact([{K.db.id: "n", K.user.email: "c@x", K.user.age: 1}])
    e = r.tempids["n"]
    with pytest.raises(datolite.ConflictError):
        conn.transact([[K.db.add, e, K.user.email, "a@x"]])
    with pytest.raises(datolite.ConflictError):
        conn.transact([[K.db.cas, e, K.user.age, 2, 3]])
    with pytest.raises(datolite.NotFoundError):
        conn.transact([[K.db.add, [K.user.email, "none@x"], K.user.age, 1]])
    with pytest.raises(datolite.SchemaError):
        conn.update_schema({K.user.email: {K.db.valueType: K.db.type.long}})
    conn.update_schema("{:user/score {:db/valueType :db.type/double}}")
    assert conn.schema()[K.user.score][K.db.valueType] == K.db.type.double
    assert issubclass(datolite.NotFoundError, LookupError)
    assert datolite.error_class(4) is datolite.ConflictError


def test_closed_schema(dbdir):
    with datolite.connect(dbdir, "{:a/b {:db/valueType :db.type/long}}", closed_schema=True) as c:
        c.transact([{K.a.b: 1}])
        with pytest.raises(datolite.SchemaError):
            c.transact([{K.a.c: 1}])


def test_transaction_block(conn, people):
    with conn.transaction() as tx:
        r = tx.transact([{K.db.id: "d", K.user.name: "Dee", K.user.email: "d@x"}])
        assert r.db_after is None and "d" in r.tempids
        with tx.db() as v:
            assert v.q("[:find ?e . :where [?e :user/name \"Dee\"]]") == r.tempids["d"]
        with conn.db() as outside:
            assert outside.q("[:find ?e . :where [?e :user/name \"Dee\"]]") is None
        # a failing transact leaves the block usable
        with pytest.raises(datolite.InvalidError):
            tx.transact([{K.user.age: "x"}])
        tx.transact([{K.user.email: "d@x", K.user.age: 40}])
    assert conn.q("[:find ?a . :where [?e :user/name \"Dee\"] [?e :user/age ?a]]") == 40

    with pytest.raises(RuntimeError):
        with conn.transaction() as tx:
            tx.transact([{K.user.name: "Gone", K.user.email: "g@x"}])
            raise RuntimeError("boom")
    assert conn.q("[:find ?e . :where [?e :user/name \"Gone\"]]") is None


def test_views_close_on_next_write(conn):
    with conn.transaction() as tx:
        v = tx.db()
        tx.transact([{K.user.name: "X", K.user.email: "x@x"}])
        with pytest.raises(datolite.MisuseError):
            v.q("[:find ?e :where [?e :user/name]]")
        assert tx.db().q("[:find ?n . :where [_ :user/name ?n]]") == "X"


def test_savepoints(conn):
    with conn.transaction() as tx:
        tx.transact([{K.user.email: "s1@x"}])
        sp = tx.savepoint()
        tx.transact([{K.user.email: "s2@x"}])
        sp.rollback()
        tx.transact([{K.user.email: "s3@x"}])
        sp.release()
        with pytest.raises(ValueError):
            with tx.savepoint():
                tx.transact([{K.user.email: "s4@x"}])
                raise ValueError("undo s4")
        with tx.savepoint():
            tx.transact([{K.user.email: "s5@x"}])
    assert sorted(conn.q("[:find [?m ...] :where [_ :user/email ?m]]")) == ["s1@x", "s3@x", "s5@x"]


def test_async(conn):
    futs = [conn.transact_async([{K.user.email: "a%d@x" % i, K.user.age: i}]) for i in range(200)]
    reports = [f.result(timeout=60) for f in futs]
    txs = [r.tx for r in reports]
    assert txs == sorted(txs) and len(set(txs)) == 200
    assert all(r.db_after is None for r in reports)
    assert conn.q("[:find (count ?e) . :where [?e :user/age]]") == 200
    bad = conn.transact_async([{K.user.age: "x"}])
    with pytest.raises(datolite.InvalidError, match="user/age"):
        bad.result(timeout=60)
    assert isinstance(bad, concurrent.futures.Future)


def test_asyncio(conn):
    async def main():
        rs = await asyncio.gather(*[conn.atransact([{K.user.email: "io%d@x" % i}]) for i in range(50)])
        with pytest.raises(datolite.ConflictError):
            await conn.atransact([[K.db.cas, [K.user.email, "io1@x"], K.user.email, "wrong@x", "io9@x"]])
        return rs

    rs = asyncio.run(main())
    assert len({r.tx for r in rs}) == 50
    assert conn.q("[:find (count ?e) . :where [?e :user/email]]") == 50


LUA_INC = """return function(db, e, attr, by)
  local ent = db:entity(e)
  local cur = ent[attr] or 0
  return {dt.add(e, attr, cur + by)}
end"""


def test_lua_function(conn, people):
    conn.install_function(K.my.inc, LUA_INC)
    conn.transact([[K.my.inc, people["ann"], K.user.age, 10]])
    conn.call(K.my.inc, people["ann"], K.user.age, 1)
    conn.call_async("my/inc", people["ann"], K.user.age, 1).result(timeout=60)
    with conn.transaction() as tx:
        tx.call(":my/inc", people["ann"], K.user.age, 1)
    assert conn.q("[:find ?a . :in $ ?e :where [?e :user/age ?a]]", people["ann"]) == 44
    with pytest.raises(datolite.TxFunctionError):
        conn.install_function(K.my.bad, "return function(db) error('nope') end")
        conn.call(K.my.bad)


def test_host_function(dbdir):
    calls = []

    def add_user(db, email, name):
        calls.append(threading.get_ident())
        if db.q("[:find ?e . :in $ ?m :where [?e :user/email ?m]]", email) is not None:
            raise ValueError("user %s exists" % email)
        return [{K.user.email: email, K.user.name: name}]

    def broken(db):
        return [{K.user.email: object()}]

    fns = {"app/add-user": add_user, K.app.broken: broken, "app/lua-hi": "return function(db) return {} end"}
    with datolite.connect(dbdir, "{:user/email {:db/unique :db.unique/identity}}", functions=fns) as c:
        c.transact([[K.app.add_user if False else K("app/add-user"), "a@x", "A"]])
        c.call("app/add-user", "b@x", "B")
        c.transact_async([[K("app/add-user"), "c@x", "C"]]).result(timeout=60)
        with pytest.raises(datolite.TxFunctionError, match="user a@x exists"):
            c.call("app/add-user", "a@x", "again")
        with pytest.raises(datolite.TxFunctionError, match="ValueError"):
            c.transact_async([[K("app/add-user"), "b@x", "again"]]).result(timeout=60)
        with pytest.raises(datolite.TxFunctionError, match="TypeError"):
            c.call(K.app.broken)
        c.call("app/lua-hi")
        with c.transaction() as tx:
            tx.call("app/add-user", "d@x", "D")
        assert sorted(c.q("[:find [?n ...] :where [_ :user/name ?n]]")) == ["A", "B", "C", "D"]
        # the function ran on this thread and on the writer thread
        assert threading.get_ident() in calls and len(set(calls)) >= 2


def test_host_function_raising_datolite_error_keeps_code(dbdir):
    def refuse(db):
        raise datolite.ConflictError(4, "taken")

    with datolite.connect(dbdir, functions={"x/refuse": refuse}) as c:
        with pytest.raises(datolite.ConflictError, match="taken"):
            c.call("x/refuse")


def test_threads_read_while_one_writes(conn):
    conn.transact([{K.user.email: "seed@x", K.user.age: 0}])
    stop = threading.Event()
    errors = []
    counts = []

    def reader():
        try:
            last = 0
            while not stop.is_set():
                with conn.db() as db:
                    n = db.q("[:find (count ?e) . :where [?e :user/age]]")
                    assert n >= last
                    last = n
                    counts.append(n)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    readers = [threading.Thread(target=reader) for _ in range(4)]
    for t in readers:
        t.start()
    for i in range(300):
        conn.transact([{K.user.email: "w%d@x" % i, K.user.age: i}])
    stop.set()
    for t in readers:
        t.join()
    assert not errors, errors
    assert conn.q("[:find (count ?e) . :where [?e :user/age]]") == 301
    assert len(counts) > 4


def test_gil_released_during_queries(conn):
    # While one long query runs in C, another Python thread keeps running:
    # with the GIL held it could not count at all during the call.
    conn.transact([{K.user.email: "p%d@x" % i, K.user.age: i % 5} for i in range(1500)])
    done = threading.Event()
    ticks = [0]

    def counter():
        while not done.is_set():
            ticks[0] += 1

    t = threading.Thread(target=counter)
    t.start()
    try:
        # the counter's speed alone (this thread sleeps, holding nothing)
        b0 = ticks[0]
        time.sleep(0.2)
        rate = (ticks[0] - b0) / 0.2
        with conn.db() as db:
            for _ in range(5):
                before = ticks[0]
                t0 = time.perf_counter()
                n = db.q("[:find (count ?b) . :where [?a :user/age ?x] [?b :user/age ?x] [(< ?a ?b)]]")
                spent = time.perf_counter() - t0
                during = ticks[0] - before
                if spent > 0.05:
                    break
        assert n == 1500 - 5
        assert spent > 0.05, "the query was too quick to tell"
        # held GIL: the counter gets at most a switch interval or two
        # (~1% of the call); released: most of its speed
        assert during > 0.1 * rate * spent, (during, rate, spent)
    finally:
        done.set()
        t.join()


def test_connection_close_releases_children(dbdir):
    c = datolite.connect(dbdir)
    db = c.db()
    r = c.transact([{K.a.b: 1}])
    it = db.datoms("eav")
    c.close()
    with pytest.raises(datolite.MisuseError):
        db.q("[:find ?e :where [?e :a/b]]")
    with pytest.raises(datolite.MisuseError):
        c.transact([])
    assert r.db_after is None
    del it


def test_temp_and_readonly(tmp_path):
    d = str(tmp_path / "t")
    with datolite.connect(d, temp=True) as c:
        c.transact([{K.a.b: 1}])
    import os

    assert not os.path.exists(d)
    with pytest.raises(TypeError):
        datolite.connect(d, no_such_option=True)
    d2 = str(tmp_path / "ro")
    with datolite.connect(d2) as c:
        c.transact([{K.a.b: 1}])
    with datolite.connect(d2, readonly=True) as c:
        assert c.q("[:find ?v . :where [_ :a/b ?v]]") == 1
        with pytest.raises(datolite.MisuseError, match="read-only"):
            c.transact([{K.a.b: 2}])


def test_explain(conn, people):
    with conn.db() as db:
        plan = db.explain("[:find ?e :in $ ?n :where [?e :user/name ?n] [?e :user/age ?a]]", "Ann")
        assert plan[K.rows] == 1
        assert plan[K.steps] and all(K.op in s for s in plan[K.steps])
        with pytest.raises(datolite.InvalidError):
            db.explain("[:find ?e :where [?e :nope/nope]]")


def test_host_function_messages(dbdir):
    def f(db, x):
        raise ValueError("bad %s" % x)

    def g(db):
        return 5

    with datolite.connect(dbdir, functions={"a/f": f, "a/g": g}) as c:
        with pytest.raises(datolite.TxFunctionError) as ei:
            c.call("a/f", 1)
        assert ei.value.message.endswith("function :a/f: ValueError: bad 1"), ei.value.message
        with pytest.raises(datolite.InvalidError, match="must return tx-data"):
            c.call("a/g")
        # the connection is fine afterwards
        c.transact([{K.x.y: 1}])
        assert c.q("[:find ?v . :where [_ :x/y ?v]]") == 1


def test_threads_async_with_host_function(dbdir):
    # several threads submit async calls of a Python host function (run on
    # the writer thread) and sync transactions while others read
    def bump(db, key):
        cur = db.q("[:find ?n . :in $ ?k :where [?e :c/key ?k] [?e :c/n ?n]]", key) or 0
        return [{K.c.key: key, K.c.n: cur + 1}]

    schema = {K.c.key: {K.db.unique: K.db.unique.identity, K.db.valueType: K.db.type.string},
              K.c.n: {K.db.valueType: K.db.type.long}}
    with datolite.connect(dbdir, schema, nosync=True, functions={"c/bump": bump}) as c:
        errors = []

        def writer(t):
            try:
                futs = [c.call_async("c/bump", "k%d" % (i % 3)) for i in range(100)]
                for i in range(20):
                    c.transact([[K("c/bump"), "k%d" % (i % 3)]])
                for f in futs:
                    f.result(timeout=120)
            except Exception as e:  # pragma: no cover
                errors.append(e)

        def reader():
            try:
                for _ in range(100):
                    with c.db() as db:
                        db.q("[:find ?k ?n :where [?e :c/key ?k] [?e :c/n ?n]]")
            except Exception as e:  # pragma: no cover
                errors.append(e)

        ts = [threading.Thread(target=writer, args=(i,)) for i in range(3)] + [
            threading.Thread(target=reader) for _ in range(2)
        ]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        assert not errors, errors
        # every bump counted once: 3 writers x 120 calls spread over 3 keys
        assert c.q("[:find (sum ?n) . :where [_ :c/n ?n]]") == 360
