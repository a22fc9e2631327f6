"""Which cells of a submission make up the student's program, and how to run them outside IPython."""

from __future__ import annotations

import __future__
import functools
import operator
from types import CodeType
from typing import Any

SETUP_ID = "setup"

#: Imports used when a submission has lost its setup cell.
DEFAULT_PREAMBLE = (
    "import math\nimport numpy as np\nimport torch\nfrom torch import nn\nimport torch.nn.functional as F\n"
)


def nbgrader_meta(cell: Any) -> dict:
    return dict(cell.get("metadata", {}).get("nbgrader", {}) or {})


def is_setup_cell(cell: Any) -> bool:
    meta = nbgrader_meta(cell)
    return cell.get("cell_type") == "code" and meta.get("grade_id") == SETUP_ID and bool(meta.get("locked"))


def is_solution_cell(cell: Any) -> bool:
    return cell.get("cell_type") == "code" and bool(nbgrader_meta(cell).get("solution"))


def source_of(cell: Any) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def student_program(nb: Any, before: int | None = None) -> tuple[str, list[str]]:
    """(setup cell source, solution cell sources in notebook order).

    With `before`, only the solution cells above that cell index: what had run in the kernel when
    the check cell at `before` ran.
    """
    cells = list(nb.get("cells", []))
    setup = next((source_of(c) for c in cells if is_setup_cell(c)), DEFAULT_PREAMBLE)
    upto = len(cells) if before is None else before
    solutions = [source_of(c) for c in cells[:upto] if is_solution_cell(c)]
    return setup, solutions


def to_python(source: str) -> str:
    """Turn IPython cell syntax (magics, `!cmd`) into plain Python calling `get_ipython()`."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(source)


#: The compiler flags of every `from __future__` feature.
FUTURE_FLAGS = functools.reduce(operator.or_, (getattr(__future__, name).compiler_flag
                                               for name in __future__.all_feature_names), 0)


def cleaned_up_by_ipython(source: str) -> bool:
    """Whether IPython's clean-up of a cell's lines (leading blank lines, a common indent, prompts
    pasted from a console) changes it. It can change plain Python: `In [1]: x = 1` is an annotated
    assignment, which IPython runs as `x = 1`."""
    from IPython.core.inputtransformer2 import TransformerManager

    lines = cleaned = source.splitlines(keepends=True)
    for transform in TransformerManager().cleanup_transforms:
        cleaned = transform(cleaned)
    return cleaned != lines


class CellCompiler:
    """Compiles a notebook's cells one after another as IPython's kernel does.

    - A cell that IPython's clean-up leaves alone and that is plain Python is compiled as it is:
      IPython's other transforms rewrite only syntax that plain Python rejects (magics, `!cmd`,
      `obj?`), and skipping them saves up to a millisecond a cell.
    - Other cells go through `to_python` first.
    - A `from __future__` import in one cell applies to the cells after it, and nothing else does:
      in particular not the imports of the module that calls the compiler (`compile` would
      otherwise inherit them).
    """

    def __init__(self, flags: int = 0) -> None:
        self.flags = flags  # the future features the cells so far imported

    def __call__(self, source: str, filename: str) -> CodeType:
        code = None
        if not cleaned_up_by_ipython(source):
            try:
                code = compile(source, filename, "exec", self.flags, dont_inherit=True)
            except (SyntaxError, ValueError):  # IPython syntax (or no Python at all: the next compile raises)
                pass
        if code is None:
            code = compile(to_python(source), filename, "exec", self.flags, dont_inherit=True)
        self.flags |= code.co_flags & FUTURE_FLAGS
        return code


class InertIPython:
    """Stands in for `get_ipython()` where no kernel runs: magics and shell escapes do nothing."""

    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: None
