"""Synthetic submissions built from a lesson's notebooks: the grading self-test, the sample class
and the grading benchmark all use them."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import nbformat

from .cells import nbgrader_meta

#: A solution cell that breaks every trick an honest-looking notebook could play on its own kernel.
TAMPERING = r'''
import sys, warnings
import numpy as np
import nb_helpers.checks as _checks
from nb_helpers.checks import engine as _engine
for _name in list(_engine.REGISTRY):        # every check now "passes" in this kernel
    setattr(_checks, _name, lambda f, _n=_name: print(f"{_n}: all 8 checks passed"))
_engine.run_check = lambda *a, **k: None
np.allclose = lambda *a, **k: True          # every comparison now "matches"
np.testing.assert_allclose = lambda *a, **k: None
class _EqualsAnything(float):
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    __hash__ = float.__hash__
try:
    get_ipython().set_custom_exc((Exception,), lambda *a, **k: print("all checks passed"))
except NameError:
    pass
'''


def read(path: Path) -> Any:
    return nbformat.read(path, as_version=4)


def solution_cell(nb: Any, exercise: str) -> Any:
    for cell in nb.cells:
        if cell.cell_type == "code" and nbgrader_meta(cell).get("solution") and nbgrader_meta(cell).get("grade_id") == exercise:
            return cell
    # several exercises may share a cell whose grade_id is the first one's
    for cell in nb.cells:
        if cell.cell_type == "code" and nbgrader_meta(cell).get("solution") and (
                f"def {exercise}(" in cell.source or f"class {exercise}" in cell.source):
            return cell
    raise KeyError(f"no solution cell defines {exercise!r}")


def exercises(nb: Any) -> list[str]:
    """Exercise ids of a notebook, from its check cells (grade_id `test_<id>`), in order."""
    return [nbgrader_meta(c)["grade_id"][len("test_"):] for c in nb.cells
            if nbgrader_meta(c).get("grade") and str(nbgrader_meta(c).get("grade_id", "")).startswith("test_")]


def with_wrong_answer(nb: Any, exercise: str, source: str | None = None) -> Any:
    """A copy of `nb` whose answer to `exercise` is wrong (by default it returns None)."""
    nb = copy.deepcopy(nb)
    cell = solution_cell(nb, exercise)
    cell.source += "\n\n" + (source or f"def {exercise}(*args, **kwargs):\n    return None\n")
    return nb


def with_code_in_solution(nb: Any, exercise: str, code: str) -> Any:
    """A copy of `nb` with `code` added at the start of `exercise`'s solution cell."""
    nb = copy.deepcopy(nb)
    cell = solution_cell(nb, exercise)
    cell.source = code.strip("\n") + "\n\n" + cell.source
    return nb


def write_submission(nb: Any, root: Path, student: str, assignment: str, name: str | None = None) -> Path:
    """Place a notebook where `nbgrader autograde` looks for it."""
    path = root / "submitted" / student / assignment / f"{name or assignment}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def drill_assignment(source: Any, exercises: list[str], title: str = "Grading drill") -> Any:
    """A small nbgrader source notebook made of `source`'s setup cell and, for each exercise, its
    solution cell and check cell: no demos, so grading it takes seconds (the grading self-tests)."""
    from nbformat.v4 import new_markdown_cell, new_notebook

    cells = [new_markdown_cell(f"# {title}")]
    cells += [copy.deepcopy(c) for c in source.cells if nbgrader_meta(c).get("grade_id") == "setup"]
    for exercise in exercises:
        cells.append(copy.deepcopy(solution_cell(source, exercise)))
        cells += [copy.deepcopy(c) for c in source.cells if nbgrader_meta(c).get("grade_id") == f"test_{exercise}"]
    for cell in cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return new_notebook(cells=cells, metadata=copy.deepcopy(source.metadata))
