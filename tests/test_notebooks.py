"""The lesson notebooks follow the anatomy of CONTRIBUTING.md and stay in sync with what generates them.
Lessons are discovered from solutions/*/."""

from __future__ import annotations

import ast
import json
import re

import nbformat
import pytest

from nb_helpers import __version__, checks  # noqa: F401 - registers the checks
from nb_helpers.authoring import badge_markdown
from nb_helpers.conventions import SETUP_ID, checked_exercise, is_solution_cell, nbgrader_meta, setup_cell_source
from nb_helpers.checks.declaration import REGISTRY
from nb_helpers.release import REPOSITORY, TAG, install_spec
from tests.support.course import LESSONS, REPO


def solution(lesson):
    return nbformat.read(REPO / "solutions" / lesson / f"{lesson}.ipynb", as_version=4)


def test_lesson_ids_are_numbered_and_found_in_solutions():
    """Lessons are whatever solutions/ holds (no list to update): `NN_snake_case`, in course order."""
    assert LESSONS == sorted(LESSONS) and LESSONS[0] == "01_activation_functions"
    assert all(re.fullmatch(r"\d\d_[a-z_]+", lesson) for lesson in LESSONS)


@pytest.mark.parametrize("lesson", LESSONS)
def test_setup_cell_badge_and_release_metadata_are_generated_from_one_source(lesson):
    nb = solution(lesson)
    setup = [c for c in nb.cells if nbgrader_meta(c).get("grade_id") == SETUP_ID]
    assert len(setup) == 1 and setup[0].source == setup_cell_source()
    assert nbgrader_meta(setup[0])["locked"] and "nbval-ignore-output" in setup[0].metadata.get("tags", [])
    assert nb.metadata["nb_helpers"] == {"version": __version__, "lesson": lesson}
    title = nb.cells[0].source
    assert title.startswith("# ") and badge_markdown(lesson) in title
    assert f"github/{REPOSITORY}/blob/{TAG}/notebooks/{lesson}/{lesson}.ipynb" in title
    assert install_spec("v{NB_HELPERS_RELEASE}") in setup[0].source and "google.colab" in setup[0].source
    assert f'NB_HELPERS_RELEASE = "{__version__}"' in setup[0].source and TAG == f"v{__version__}"


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_exercise_of_the_lesson_has_a_solution_cell_and_a_locked_one_point_check(lesson):
    nb = solution(lesson)
    declared = {c.id for c in REGISTRY.values() if c.lesson == lesson}
    check_cells = {checked_exercise(c): c for c in nb.cells if nbgrader_meta(c).get("grade")}
    assert set(check_cells) == declared
    for exercise, cell in check_cells.items():
        meta = nbgrader_meta(cell)
        assert meta["locked"] and meta["points"] == 1 and not meta["solution"]
        assert cell.source == f"checks.{exercise}({REGISTRY[exercise].object_name})"
    solution_ids = [nbgrader_meta(c)["grade_id"] for c in nb.cells if nbgrader_meta(c).get("solution")]
    assert set(solution_ids) <= declared and len(solution_ids) == len(set(solution_ids))


@pytest.mark.parametrize("lesson", LESSONS)
def test_solutions_are_written_inside_function_bodies_after_the_docstring(lesson):
    for cell in solution(lesson).cells:
        if not is_solution_cell(cell):
            continue
        tree = ast.parse(cell.source)
        lines = cell.source.splitlines()
        begins = [i + 1 for i, line in enumerate(lines) if "### BEGIN SOLUTION" in line]
        assert begins, f"{nbgrader_meta(cell)['grade_id']}: no solution region"
        functions = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
        for line in begins:
            owner = [f for f in functions if f.body[0].lineno <= line <= f.end_lineno]
            assert owner, f"{nbgrader_meta(cell)['grade_id']}: solution region outside a function body"
            assert ast.get_docstring(owner[-1]), f"{owner[-1].name} has no docstring"


@pytest.mark.parametrize("lesson", LESSONS)
def test_solution_notebook_is_executed_and_error_free(lesson):
    for cell in solution(lesson).cells:
        if cell.cell_type == "code":
            assert cell.execution_count is not None, "run `make execute` to refresh the reference outputs"
            assert not [o for o in cell.outputs if o.output_type == "error"], cell.source[:80]


@pytest.mark.parametrize("lesson", LESSONS)
def test_widget_and_progress_cells_are_not_compared_by_nbval(lesson):
    for cell in solution(lesson).cells:
        if cell.cell_type != "code":
            continue
        shows_widget = any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in cell.outputs)
        if shows_widget:
            assert "nbval-ignore-output" in cell.metadata.get("tags", []), cell.source[:80]
        assert "# NBVAL" not in cell.source, "use cell tags for nbval directives"


@pytest.mark.slow
def test_notebooks_folder_is_exactly_what_make_release_produces(tmp_path, released_course):
    generated_files = []
    for lesson in LESSONS:
        root = released_course(tmp_path / lesson, lessons=(lesson,))   # `nbgrader generate_assignment`
        generated = (root / "notebooks" / lesson / f"{lesson}.ipynb").read_text()
        committed = (REPO / "notebooks" / lesson / f"{lesson}.ipynb").read_text()
        assert json.loads(committed) == json.loads(generated), f"notebooks/{lesson} is stale: run `make release`"
        generated_files += [p.relative_to(root / "notebooks") for p in (root / "notebooks").rglob("*") if p.is_file()]
    committed_files = sorted(p.relative_to(REPO / "notebooks") for p in (REPO / "notebooks").rglob("*") if p.is_file())
    assert committed_files == sorted(generated_files)


# A fresh student notebook running to its end (as Colab and VS Code run it) and raising only
# "not implemented yet" under nbgrader: tests/test_run_all.py.


@pytest.mark.parametrize("override", [None, "nn-training-course @ git+file:///tmp/course-clone@v0"])
def test_setup_cell_installs_the_tagged_release_only_in_colab(monkeypatch, override):
    import sys
    import types

    from IPython.core.inputtransformer2 import TransformerManager

    install_part = setup_cell_source().split("\ntry:")[0]     # everything before the imports
    calls = []

    class Shell:
        def run_line_magic(self, name, line):
            calls.append((name, line))

    def run(namespace):
        exec(TransformerManager().transform_cell(install_part), namespace)  # noqa: S102
        return namespace

    if override:
        monkeypatch.setenv("NB_HELPERS_INSTALL_SPEC", override)
    run({"get_ipython": Shell})
    assert calls == []                                            # not in Colab: installs nothing
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    namespace = run({"get_ipython": Shell})
    assert calls == [("pip", 'install --quiet "{_spec}"')]       # IPython expands {_spec} itself
    assert namespace["_spec"] == (override or install_spec(TAG))
    assert "torch" not in namespace["_spec"] and "--upgrade" not in calls[0][1]
