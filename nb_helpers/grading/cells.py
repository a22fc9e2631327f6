"""Which cells of a submission make up the student's program, and how to run them outside IPython."""

from __future__ import annotations

import codeop
import functools
from types import CodeType
from typing import Any

from ..conventions import DEFAULT_PREAMBLE, is_setup_cell, is_solution_cell


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


@functools.cache
def _transformer() -> Any:
    """IPython's input transformer (one per process, as the kernel keeps one)."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager()


def to_python(source: str) -> str:
    """Turn IPython cell syntax (magics, `!cmd`) into plain Python calling `get_ipython()`."""
    return _transformer().transform_cell(source)


def cleaned_up_by_ipython(source: str) -> bool:
    """Whether IPython's clean-up of a cell's lines (leading blank lines, a common indent, prompts
    pasted from a console) changes it. It can change plain Python: `In [1]: x = 1` is an annotated
    assignment, which IPython runs as `x = 1`."""
    lines = cleaned = source.splitlines(keepends=True)
    for transform in _transformer().cleanup_transforms:
        cleaned = transform(cleaned)
    return cleaned != lines


class CellCompiler(codeop.Compile):
    """Compiles a notebook's cells one after another as IPython's kernel does.

    IPython's own compiler is a `codeop.Compile` too: a `from __future__` import in one cell
    applies to the cells after it, and nothing else does (in particular not the imports of the
    module that calls the compiler, which the built-in `compile` would pass on).

    A cell that IPython's clean-up leaves alone and that is plain Python is compiled as it is:
    IPython's other transforms rewrite only syntax that plain Python rejects (magics, `!cmd`,
    `obj?`), and skipping them saves up to a millisecond a cell. Other cells go through
    `to_python` first.
    """

    def __call__(self, source: str, filename: str, symbol: str = "exec", **kwargs: Any) -> CodeType:
        if not cleaned_up_by_ipython(source):
            try:
                return super().__call__(source, filename, symbol, **kwargs)
            except (SyntaxError, ValueError):  # IPython syntax (or no Python at all: the next compile raises)
                pass
        return super().__call__(to_python(source), filename, symbol, **kwargs)


class InertIPython:
    """Stands in for `get_ipython()` where no kernel runs: magics and shell escapes do nothing."""

    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: None
