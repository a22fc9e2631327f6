"""The conventions every lesson notebook follows, declared once for the grader, the authoring tools,
the progress table and the tests.

- The setup cell: the lesson's first code cell, locked, with nbgrader grade_id `SETUP_ID`. Its text
  is `setup_cell_source()`: `python -m nb_helpers.authoring sync` writes it into every notebook, and
  the verdict fork server runs it once, when it starts: the child of every submission that kept that
  text starts from the result (`nb_helpers.grading.forkserver`).
- A check cell: a graded code cell whose grade_id is `check_id(exercise)`, i.e. `CHECK_PREFIX` and
  the exercise id (`test_relu`); `checked_exercise(cell)` reads the id back, `check_cells(nb)` lists them. It is tagged `CHECK_TAG`,
  so that JupyterLab's Run All goes on past a check that fails.
- A solution cell: a code cell with nbgrader `solution: true`; its grade_id is that of the first
  exercise it defines.
- `DEFAULT_PREAMBLE`: the imports the grader runs in place of a setup cell a submission has lost.
- `GRADING_SEED_ENV`: the environment variable that holds the instructor's secret seed.
- `NBGRADER_EXECUTION_ENV`: the environment variable nbgrader sets while it executes a notebook
  (read through `nb_helpers.checks.kernel.grading`).

Importing this module is cheap (no NumPy, torch, nbgrader or matplotlib): the verdict fork server
and the student's kernel import it.
"""

from __future__ import annotations

from typing import Any

from . import __version__
from .release import INSTALL_SPEC_ENV, install_spec

#: nbgrader grade_id of the setup cell.
SETUP_ID = "setup"
#: A check cell's grade_id is this prefix followed by the exercise id.
CHECK_PREFIX = "test_"
#: Tag of every check cell: JupyterLab's Run All goes on past a cell that raises.
CHECK_TAG = "raises-exception"
#: Environment variable holding the secret that seeds the hidden cases of a course offering.
GRADING_SEED_ENV = "NB_HELPERS_GRADING_SEED"
#: Environment variable nbgrader sets, to "validate" or "autograde", in the kernel it executes a notebook in.
NBGRADER_EXECUTION_ENV = "NBGRADER_EXECUTION"

#: The libraries every lesson imports under the same names.
LIBRARY_IMPORTS = """\
import math
import numpy as np
import torch
from torch import nn
import torch.nn.functional as F"""
#: The setup cell's imports: the libraries, pyplot and the course's checks.
COMMON_IMPORTS = f"""\
{LIBRARY_IMPORTS}
import matplotlib.pyplot as plt
from nb_helpers import checks"""
#: Imports the grader runs when a submission has lost its setup cell.
DEFAULT_PREAMBLE = LIBRARY_IMPORTS + "\n"


def setup_cell_source() -> str:
    """The first code cell of every lesson (locked; also run by the grader before solution cells)."""
    return f'''\
# Setup: run this cell first. In Colab it installs the course package (never torch, numpy or ipywidgets).
import os, sys
NB_HELPERS_RELEASE = "{__version__}"
if "google.colab" in sys.modules:
    _spec = os.environ.get("{INSTALL_SPEC_ENV}", f"{install_spec('v{NB_HELPERS_RELEASE}')}")
    %pip install --quiet "{{_spec}}"
try:
    from nb_helpers.env import prepare_lesson
except ImportError:
    raise ImportError(
        "The course package `nb_helpers` is missing from this kernel (or older than " + NB_HELPERS_RELEASE + "). "
        "From the course folder run `make lab`, or `pip install -e .` in this kernel's environment."
    ) from None
{COMMON_IMPORTS}
device = prepare_lesson(NB_HELPERS_RELEASE)'''


def nbgrader_meta(cell: Any) -> dict:
    """A copy of the cell's nbgrader metadata ({} for a cell nbgrader does not know)."""
    return dict(cell.get("metadata", {}).get("nbgrader", {}) or {})


def is_setup_cell(cell: Any) -> bool:
    """The locked setup cell (a student's copy that lost its lock does not count)."""
    meta = nbgrader_meta(cell)
    return cell.get("cell_type") == "code" and meta.get("grade_id") == SETUP_ID and bool(meta.get("locked"))


def is_solution_cell(cell: Any) -> bool:
    return cell.get("cell_type") == "code" and bool(nbgrader_meta(cell).get("solution"))


def check_id(exercise: str) -> str:
    """The grade_id of the check cell of `exercise`."""
    return f"{CHECK_PREFIX}{exercise}"


def checked_exercise(cell: Any) -> str | None:
    """The exercise a check cell grades (a graded code cell whose grade_id is `check_id(exercise)`);
    None for every other cell."""
    meta = nbgrader_meta(cell)
    grade_id = str(meta.get("grade_id", ""))
    if cell.get("cell_type") != "code" or not meta.get("grade") or not grade_id.startswith(CHECK_PREFIX):
        return None
    return grade_id[len(CHECK_PREFIX):]


def check_cells(nb: Any) -> list[tuple[str, Any]]:
    """(exercise, cell) of the notebook's check cells (`checked_exercise`), in notebook order."""
    return [(exercise, cell) for cell in nb.cells if (exercise := checked_exercise(cell)) is not None]
