import os
import sys

import pytest

# The package is imported from the source tree (bindings/python).
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import datolite  # noqa: E402
from datolite import K  # noqa: E402

SCHEMA = {
    K.user.email: {K.db.valueType: K.db.type.string, K.db.unique: K.db.unique.identity},
    K.user.name: {K.db.valueType: K.db.type.string},
    K.user.age: {K.db.valueType: K.db.type.long},
    K.user.friend: {K.db.valueType: K.db.type.ref, K.db.cardinality: K.db.cardinality.many},
    K.user.tag: {K.db.valueType: K.db.type.keyword, K.db.cardinality: K.db.cardinality.many},
}


@pytest.fixture
def dbdir(tmp_path):
    return str(tmp_path / "db")


@pytest.fixture
def conn(dbdir):
    with datolite.connect(dbdir, SCHEMA, nosync=True) as c:
        yield c


@pytest.fixture
def people(conn):
    r = conn.transact(
        [
            {K.db.id: "ann", K.user.email: "ann@x", K.user.name: "Ann", K.user.age: 31, K.user.tag: {K.admin, K.staff}},
            {K.db.id: "bob", K.user.email: "bob@x", K.user.name: "Bob", K.user.age: 25, K.user.friend: ["ann"]},
            {K.db.id: "cy", K.user.email: "cy@x", K.user.name: "Cy", K.user.age: 25, K.user.friend: ["ann", "bob"]},
        ]
    )
    ids = dict(r.tempids)
    r.close()
    return ids
