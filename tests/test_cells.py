"""`CellCompiler` compiles a student's cells as IPython's kernel does, mostly without IPython's
transformer: these tests hold it to that against the transformer itself."""

from __future__ import annotations  # the compiler must not pass this on to the cells

import ast
import json

import pytest

from nb_helpers.grading.cells import CellCompiler, cleaned_up_by_ipython, to_python
from tests.support.course import REPO

#: Cells IPython rewrites: syntax plain Python rejects, and lines it cleans up (the last two are
#: plain Python as they stand).
REWRITTEN = [
    "%matplotlib inline\nx = 1\n",
    "!echo hello\n",
    "files = !ls\n",
    "%%time\nx = 1\n",
    "len?\n",
    "    x = 1\n    y = 2\n",
    ">>> x = 1\n... \n",
    "In [1]: x = 1\n",
    "\n\nx = 1\n",
]
TRICKY_PLAIN = [
    "print(1)  # what?\n",
    "x = (1\n% 2)\n",
    "...\n",
    "s = '%matplotlib inline'\nt = 1 != 2\n",
    "f = lambda: 1;\n",
    "x = 1 \\\n    + 2",
    "def f():\n    return '''\n!ls\n%time\n'''",
]


def course_cells() -> list[str]:
    sources = set()
    for path in sorted((REPO / "solutions").glob("*/*.ipynb")) + sorted((REPO / "notebooks").glob("*/*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] == "code":
                sources.add("".join(cell["source"]))
    return sorted(sources)


def compiles(source: str) -> bool:
    try:
        ast.parse(source)
    except SyntaxError:
        return False
    return True


def test_plain_python_that_ipython_leaves_alone_means_the_same_without_its_transformer():
    cells = [s for s in course_cells() + TRICKY_PLAIN if compiles(s)]
    assert len(cells) > 100
    for source in cells:
        assert not cleaned_up_by_ipython(source), source
        assert ast.dump(ast.parse(to_python(source))) == ast.dump(ast.parse(source)), source


@pytest.mark.parametrize("source", REWRITTEN)
def test_cells_ipython_rewrites_go_through_its_transformer(source):
    expected = compile(to_python(source), "<cell>", "exec", dont_inherit=True)
    assert CellCompiler()(source, "<cell>").co_code == expected.co_code


def test_a_pasted_console_prompt_runs_as_in_the_kernel():
    namespace: dict = {}
    exec(CellCompiler()("In [1]: x = 1\n", "<cell>"), namespace)  # not an annotated assignment to `In`
    assert namespace["x"] == 1


def test_future_imports_reach_the_later_cells_and_come_from_nowhere_else():
    compiler, namespace = CellCompiler(), {}
    with pytest.raises(NameError):
        exec(compiler("def f(x: Undefined):\n    pass\n", "<cell 1>"), namespace)
    exec(compiler("from __future__ import annotations\n", "<cell 2>"), namespace)
    exec(compiler("def g(x: Undefined):\n    pass\n", "<cell 3>"), namespace)
    assert namespace["g"].__annotations__ == {"x": "Undefined"}
    with pytest.raises(NameError):  # another notebook's compiler knows nothing of it
        exec(CellCompiler()("def h(x: Undefined):\n    pass\n", "<cell>"), namespace)


def test_what_is_not_python_at_all_still_raises_a_syntax_error():
    with pytest.raises(SyntaxError):
        CellCompiler()("def f(:\n", "<cell>")
