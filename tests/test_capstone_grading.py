"""Lesson 04's capstone `train_digits` graded through real `nbgrader autograde` (in the sandbox when
bubblewrap is there): a drill of lesson 04 — two exercises and the capstone, cells taken from the
solution notebook — and one student per way a capstone can fail. Each failure costs the capstone's
point only, with the reason in its check cell; the solution scores full marks."""

from __future__ import annotations

import re

import pytest

from nb_helpers.grading import synthetic
from nb_helpers.conventions import check_id, nbgrader_meta
from tests.support.course import REPO, nbgrader

pytestmark = pytest.mark.slow

LESSON = "04_advanced_training"
ASSIGNMENT = "capstone_drill"
SOURCE = REPO / "solutions" / LESSON / f"{LESSON}.ipynb"
LIMIT_S = 8  # the capstone's time limit in this course's config (its own is 60 s): the slow student costs 8 s
CONFIG = f"\nc.VerdictPreprocessor.time_limits = {{'train_digits': {LIMIT_S}.0}}\n"

SIGNATURE = "def train_digits(X_train, y_train, X_val, y_val, seed=0):\n"
ANSWERS = {
    "too_slow": SIGNATURE + "    while True:\n        pass\n",
    "too_many_parameters": SIGNATURE + "    return nn.Sequential(nn.Linear(64, 2048), nn.ReLU(), nn.Linear(2048, 10))\n",
    "wrong_shape": SIGNATURE + "    torch.manual_seed(seed)\n    return nn.Linear(64, 1)\n",
    "crash": SIGNATURE + "    raise RuntimeError('my training loop broke')\n",
    "loads_the_data": SIGNATURE + (
        "    from sklearn.datasets import load_digits\n"
        "    X, y = load_digits(return_X_y=True)\n"
        "    return nn.Linear(64, 10)\n"),
    "plain_sgd": SIGNATURE + (
        "    torch.manual_seed(seed)\n"
        "    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))\n"
        "    opt = torch.optim.SGD(model.parameters(), lr=0.01)\n"
        "    for epoch in range(2):\n"
        "        for xb, yb in iterate_minibatches(X_train, y_train, 32, seed=epoch):\n"
        "            loss = F.cross_entropy(model(torch.tensor(xb)), torch.tensor(yb))\n"
        "            opt.zero_grad()\n"
        "            loss.backward()\n"
        "            opt.step()\n"
        "    return model\n"),
}
REASONS = {
    "too_slow": f"did not finish within {LIMIT_S} s",
    "too_many_parameters": "returned a model with 153,610 parameters; at most 100,000 are allowed",
    "wrong_shape": "maps a float32 (N, 64) batch to (N, 1); expected (N, 10) logits",
    "crash": "raised RuntimeError while training: my training loop broke",
    "loads_the_data": "loaded the data set itself through sklearn.datasets.load_digits",
    "plain_sgd": "on the hidden test set (400 digits it never saw); at least 0.95 is needed",
}


def drill_exercises(source) -> list[str]:
    """Two warm-up exercises of lesson 04, whatever the capstone's solution calls, and the capstone."""
    ids = synthetic.exercises(source)
    if "train_digits" not in ids:
        pytest.skip("lesson 04 has no capstone cells yet")
    capstone = synthetic.solution_cell(source, "train_digits").source
    used = [e for e in ids if e != "train_digits" and f"{e}(" in capstone]
    return list(dict.fromkeys(["cyclic_lr", *used, "iterate_minibatches"])) + ["train_digits"]


@pytest.fixture(scope="module")
def graded(tmp_path_factory, released_course):
    lesson = synthetic.read(SOURCE)
    exercises = drill_exercises(lesson)
    root = released_course(tmp_path_factory.mktemp("capstone") / "course", config=CONFIG,
                           drills={ASSIGNMENT: synthetic.drill_assignment(lesson, exercises, title="Capstone drill")})
    path = root / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    solved = synthetic.read(path)
    students = {"solution": solved}
    students.update({name: synthetic.with_wrong_answer(solved, "train_digits", code) for name, code in ANSWERS.items()})
    for student, nb in students.items():
        synthetic.write_submission(nb, root, student, ASSIGNMENT)
    run = nbgrader(root, "autograde", ASSIGNMENT, "--force")
    return root, exercises, run


def points(root, student: str) -> dict[str, float]:
    """{grade_id: score} of the student's graded cells (the check cells, `check_id(exercise)`)."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        nb = gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student)
        return {g.name: g.score for g in nb.grades}


def check_output(root, student: str, exercise: str) -> str:
    nb = synthetic.read(root / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    cell = next(c for c in nb.cells if nbgrader_meta(c).get("grade_id") == check_id(exercise))
    return "\n".join(o.get("text", "") or f"{o.get('ename')}: {o.get('evalue')}" for o in cell.outputs)


def test_the_solution_scores_full_marks(graded):
    root, exercises, _ = graded
    assert points(root, "solution") == {check_id(e): 1.0 for e in exercises}
    output = check_output(root, "solution", "train_digits")
    assert re.fullmatch(r"train_digits: passed — accuracy 0\.9[5-9]\d on 400 hidden test digits it never saw "
                        r"\(threshold 0\.95\), 19,210 parameters\n", output), output


@pytest.mark.parametrize("student", sorted(ANSWERS))
def test_a_failing_capstone_costs_its_point_only_and_says_why(graded, student):
    root, exercises, _ = graded
    assert points(root, student) == {check_id(e): 0.0 if e == "train_digits" else 1.0 for e in exercises}
    output = check_output(root, student, "train_digits")
    assert REASONS[student] in output, output


def test_the_kernel_left_the_training_to_the_grader(graded):
    """Under autograde the kernel's check cell does not train (its output is the verdict's anyway):
    the slow student's kernel run finished although its train_digits never returns."""
    root, _, run = graded
    executed = synthetic.read(root / "autograded" / "too_slow" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    assert not executed.cells[0].source.startswith("**Grading note.**")  # no kernel time limit was reached
    assert "TimeoutError" in check_output(root, "too_slow", "train_digits")
