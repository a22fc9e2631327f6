"""The notebook conventions: cheap to import (the fork server and the student's kernel import them)
and consistent with each other."""

from __future__ import annotations

import inspect

from nbformat.v4 import new_code_cell, new_markdown_cell

from nb_helpers import conventions as C
from tests.support.probes import modules_loaded_by


def test_importing_the_conventions_loads_no_heavy_library():
    loaded = modules_loaded_by("import nb_helpers.conventions")
    assert not {"numpy", "torch", "nbgrader", "matplotlib", "nbformat", "traitlets"} & loaded


def test_the_fork_server_takes_the_setup_cell_from_the_conventions_not_the_authoring_tools():
    from nb_helpers.grading import forkserver

    text = inspect.getsource(forkserver)
    assert "from ..conventions import setup_cell_source" in text and "..authoring" not in text


def test_a_check_cell_is_read_back_as_its_exercise():
    check = new_code_cell("checks.relu(relu)", metadata={"nbgrader": {"grade": True, "grade_id": C.check_id("relu")}})
    assert C.check_id("relu") == "test_relu" and C.checked_exercise(check) == "relu"
    ungraded = new_code_cell("", metadata={"nbgrader": {"grade": False, "grade_id": C.check_id("relu")}})
    markdown = new_markdown_cell("", metadata={"nbgrader": {"grade": True, "grade_id": C.check_id("relu")}})
    solution = new_code_cell("", metadata={"nbgrader": {"solution": True, "grade_id": "relu"}})
    assert [C.checked_exercise(c) for c in (ungraded, markdown, solution)] == [None, None, None]
    assert C.is_solution_cell(solution) and not C.is_solution_cell(check)


def test_the_setup_cell_is_recognised_only_when_locked():
    setup = new_code_cell(C.setup_cell_source(), metadata={"nbgrader": {"grade_id": C.SETUP_ID, "locked": True}})
    unlocked = new_code_cell(C.setup_cell_source(), metadata={"nbgrader": {"grade_id": C.SETUP_ID}})
    assert C.is_setup_cell(setup) and not C.is_setup_cell(unlocked)


def test_the_default_preamble_imports_the_libraries_as_the_setup_cell_does():
    assert C.DEFAULT_PREAMBLE == C.LIBRARY_IMPORTS + "\n"
    assert C.COMMON_IMPORTS.startswith(C.LIBRARY_IMPORTS) and C.COMMON_IMPORTS in C.setup_cell_source()
