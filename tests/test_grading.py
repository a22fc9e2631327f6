"""Grading through real `nbgrader autograde`, for every lesson: a solution scores full marks, a blank
notebook zero, one wrong answer loses exactly its point, harmless warnings cost nothing, and a
notebook that tampers with its own kernel gains nothing."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from nb_helpers.grading import synthetic
from tests.support.course import LESSONS, nbgrader

pytestmark = pytest.mark.slow

WARNS = '''
import warnings
warnings.warn("this function is deprecated", UserWarning)
import sys
print("a harmless note on stderr", file=sys.stderr)
'''

NAIVE_SIGMOID = '''
def sigmoid(x):
    return 1 / (1 + np.exp(-x))
'''


def scores(root: Path, lesson: str, student: str) -> dict[str, float]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        nb = gb.find_submission_notebook(lesson, lesson, student)
        return {g.name: g.score for g in nb.grades}


@pytest.fixture(scope="module", params=LESSONS)
def graded(request, tmp_path_factory, released_course):
    """Autograde a handful of synthetic students for one lesson, once per module."""
    lesson = request.param
    root = released_course(tmp_path_factory.mktemp(f"course-{lesson}") / "course", lessons=(lesson,))
    source = synthetic.read(root / "solutions" / lesson / f"{lesson}.ipynb")
    release = synthetic.read(root / "notebooks" / lesson / f"{lesson}.ipynb")
    ids = synthetic.exercises(source)
    first, last = ids[0], ids[-1]
    students = {
        "solution": source,
        "blank": release,
        "one_wrong": synthetic.with_wrong_answer(source, last),
        "warns": synthetic.with_code_in_solution(source, first, WARNS),
        # tampering plus blank answers: everything the kernel prints says "passed"
        "tamper": synthetic.with_code_in_solution(release, first, synthetic.TAMPERING),
    }
    if "sigmoid" in ids:
        students["naive_sigmoid"] = synthetic.with_wrong_answer(source, "sigmoid", NAIVE_SIGMOID)
        # the kernel dies in the fourth exercise's cell: the three before it still count
        students["dies"] = synthetic.with_code_in_solution(source, ids[3], "import os\nos._exit(1)\n")
    for student, nb in students.items():
        synthetic.write_submission(nb, root, student, lesson)
    nbgrader(root, "autograde", lesson, "--force")
    nbgrader(root, "generate_feedback", lesson, "--force")
    return root, lesson, ids


def test_solution_scores_full_marks(graded):
    root, lesson, ids = graded
    got = scores(root, lesson, "solution")
    assert got == {f"test_{i}": 1.0 for i in ids}


def test_blank_notebook_scores_zero(graded):
    root, lesson, ids = graded
    assert sum(scores(root, lesson, "blank").values()) == 0


def test_one_wrong_answer_loses_exactly_its_point(graded):
    root, lesson, ids = graded
    got = scores(root, lesson, "one_wrong")
    assert got == {f"test_{i}": (0.0 if i == ids[-1] else 1.0) for i in ids}


def test_warnings_in_check_cells_cost_nothing(graded):
    root, lesson, ids = graded
    assert sum(scores(root, lesson, "warns").values()) == len(ids)


def test_tampering_with_the_kernel_gains_nothing(graded):
    root, lesson, ids = graded
    assert sum(scores(root, lesson, "tamper").values()) == 0
    # ... although, inside the student's own kernel, every check cell claimed success
    executed = nbformat.read(root / "autograded" / "tamper" / lesson / f"{lesson}.ipynb", as_version=4)
    verdicts = [c for c in executed.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade")]
    assert all(o.output_type == "error" for c in verdicts for o in c.outputs)


def test_feedback_shows_the_hint_but_not_hidden_values(graded):
    root, lesson, ids = graded
    if "sigmoid" not in ids:
        pytest.skip("lesson without the sigmoid exercise")
    got = scores(root, lesson, "naive_sigmoid")
    assert got["test_sigmoid"] == 0 and sum(got.values()) == len(ids) - 1
    html = (root / "feedback" / "naive_sigmoid" / lesson / f"{lesson}.html").read_text()
    assert "overflows" in html and "RuntimeWarning" in html


def test_a_dying_kernel_costs_only_the_exercises_it_prevented(graded):
    root, lesson, ids = graded
    if "sigmoid" not in ids:
        pytest.skip("exercised on lesson 01")
    got = scores(root, lesson, "dies")
    assert got == {f"test_{i}": (1.0 if i in ids[:3] else 0.0) for i in ids}
    executed = nbformat.read(root / "autograded" / "dies" / lesson / f"{lesson}.ipynb", as_version=4)
    assert executed.cells[0].source.startswith("**Grading note.** Execution stopped in cell")
    assert "the kernel stopped (DeadKernelError" in executed.cells[0].source
    fourth = next(c for c in executed.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == f"test_{ids[3]}")
    assert fourth.outputs[0]["evalue"].startswith(f"{ids[3]}: not graded, because the kernel stopped (DeadKernelError")


def test_regrading_gives_the_same_grades(graded):
    root, lesson, ids = graded
    before = {s: scores(root, lesson, s) for s in ("solution", "one_wrong", "blank")}
    nbgrader(root, "autograde", lesson, "--force", "--student", "one_wrong")
    assert {s: scores(root, lesson, s) for s in before} == before


def test_feedback_starts_with_the_progress_table(graded):
    """The feedback's first cell is the table `nb_helpers.progress()` shows, for the graded result."""
    from nb_helpers.grading.feedback import CELL_ID
    from nb_helpers.progress import from_notebook

    root, lesson, ids = graded
    n = len(ids)
    for student, passed, next_line in [("solution", n, "Next: nothing left, every exercise passes."),
                                       ("one_wrong", n - 1, f"Next: {ids[-1]} (failing)."),
                                       ("blank", 0, f"Next: {ids[0]} (not started).")]:
        html = (root / "feedback" / student / lesson / f"{lesson}.html").read_text()
        caption = f"<caption>Progress in {lesson}: {passed} of {n} exercises pass</caption>"
        assert caption in html and next_line in html, student
        autograded = nbformat.read(root / "autograded" / student / lesson / f"{lesson}.ipynb", as_version=4)
        assert html.index(caption) < html.index(autograded.cells[0].source.splitlines()[0][2:]), student
        table = from_notebook(autograded, lesson)
        assert [r.exercise for r in table.rows] == ids and table.passed == passed
        assert f'id="{CELL_ID}"' not in html or html.count(caption) == 1
