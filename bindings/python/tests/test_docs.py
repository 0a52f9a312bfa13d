"""The ```python blocks of docs/python.md, run in order in one namespace:
the user guide's examples must work as written."""

import os
import re

DOC = os.path.join(os.path.dirname(__file__), "..", "..", "..", "docs", "python.md")


def blocks():
    with open(DOC, encoding="utf-8") as f:
        text = f.read()
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)


def test_docs_python_examples_run():
    found = blocks()
    assert len(found) >= 8
    ns = {"__name__": "docs_python"}
    for i, code in enumerate(found):
        exec(compile(code, "docs/python.md block %d" % (i + 1), "exec"), ns)
