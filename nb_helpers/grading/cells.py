"""Which cells of a submission make up the student's program, and how to run them outside IPython."""

from __future__ import annotations

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


class InertIPython:
    """Stands in for `get_ipython()` where no kernel runs: magics and shell escapes do nothing."""

    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: None
