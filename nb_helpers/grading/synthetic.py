"""Synthetic submissions built from a lesson's notebooks: the grading self-test, the sample class
and the grading benchmark all use them."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import nbformat

from ..conventions import SETUP_ID, check_cells, check_id, is_solution_cell, nbgrader_meta

#: A solution cell that breaks every trick an honest-looking notebook could play on its own kernel.
TAMPERING = r'''
import sys, warnings
import numpy as np
import nb_helpers.checks as _checks
from nb_helpers.checks import judgement as _judgement, kernel as _kernel
from nb_helpers.checks.outcome import Verdict as _Verdict
for _name in list(_kernel.REGISTRY):        # every check now "passes" in this kernel
    setattr(_checks, _name, lambda f, _n=_name: print(f"{_n}: all 8 checks passed"))
_kernel.run_check = lambda *a, **k: None
_judgement.judge = lambda check, cases, *a, **k: _Verdict(check.id, True, len(cases))  # and the judge agrees
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
        if is_solution_cell(cell) and nbgrader_meta(cell).get("grade_id") == exercise:
            return cell
    # several exercises may share a cell whose grade_id is the first one's
    for cell in nb.cells:
        if is_solution_cell(cell) and (
                f"def {exercise}(" in cell.source or f"class {exercise}" in cell.source):
            return cell
    raise KeyError(f"no solution cell defines {exercise!r}")


def exercises(nb: Any) -> list[str]:
    """Exercise ids of a notebook, from its check cells (grade_id `test_<id>`), in order."""
    return [exercise for exercise, _ in check_cells(nb)]


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
    cells += [copy.deepcopy(c) for c in source.cells if nbgrader_meta(c).get("grade_id") == SETUP_ID]
    for exercise in exercises:
        cells.append(copy.deepcopy(solution_cell(source, exercise)))
        cells += [copy.deepcopy(c) for c in source.cells if nbgrader_meta(c).get("grade_id") == check_id(exercise)]
    for cell in cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return new_notebook(cells=cells, metadata=copy.deepcopy(source.metadata))


def sample_students(source: Any, blank: Any) -> dict[str, Any]:
    """The sample class of `make grade` (examples/sample_class): ada (every answer right), blaise
    (the blank notebook), carl (the last exercise wrong: it returns None), dana (blank answers plus
    code that fakes every check in her own kernel)."""
    ids = exercises(source)
    return {"ada": source, "blaise": blank, "carl": with_wrong_answer(source, ids[-1]),
            "dana": with_code_in_solution(blank, ids[0], TAMPERING)}


# ------------------------------------------------------------------ a class with a spread of mistakes

def declared_wrong_answer_source(exercise: str, index: int) -> str:
    """A solution that *is* the check's declared wrong answer number `index` (what a student who made
    that mistake wrote)."""
    from ..checks.declaration import REGISTRY, wrong_answer_ids

    check = REGISTRY[exercise]
    return (f"from nb_helpers.checks.declaration import REGISTRY as _REGISTRY  # {wrong_answer_ids(check)[index]}\n"
            f"{check.object_name} = _REGISTRY[{exercise!r}].wrong[{index}].func\n")


def _blank_source(name: str, expects: str) -> str:
    if expects == "class":
        return f"class {name}:\n    def __init__(self, *args, **kwargs):\n        raise NotImplementedError\n"
    return f"def {name}(*args, **kwargs):\n    raise NotImplementedError\n"


def _none_source(name: str, expects: str) -> str:
    if expects == "class":
        return f"class {name}:\n    def __init__(self, *args, **kwargs):\n        pass\n"
    return f"def {name}(*args, **kwargs):\n    return None\n"


def _verdict_of(exercise: str, source: str, seed: int) -> tuple[str, str | None]:
    """(status, mistake) of the check's verdict on the object `source` defines, with `seed`."""
    import numpy as np

    from ..checks.declaration import REGISTRY
    from ..checks.kernel import check_verdict

    check = REGISTRY[exercise]
    namespace: dict[str, Any] = {"np": np, "__name__": "__synthetic__"}
    exec(compile(source, f"<{exercise}>", "exec"), namespace)  # noqa: S102 - the course's own test answers
    verdict = check_verdict(check, namespace[check.object_name], seed=seed)
    return verdict.status, verdict.mistake


def mistakes_class(source: Any, assignment: str, instructor_seed: str, n_students: int = 40, seed: int = 0,
                   weights: tuple[float, float, float, float] = (0.45, 0.35, 0.1, 0.1)) -> tuple[dict, dict]:
    """A class of `n_students` submissions of `source` (a solution notebook) with a spread of
    mistakes, and what the diagnosis must record for each: ({student: notebook},
    {student: {exercise: (status, mistake id or None)}}).

    Each student has an ability a drawn uniformly from [0, 1); each answer is, with probabilities
    proportional to `weights` (the first scaled by 2a, the third by 2(1 - a), so that strong students
    are right more often and weak ones leave more blank): the solution; one of the check's declared wrong
    answers (uniformly among those whose verdict, with the student's grading seed, names that very
    wrong answer — two wrong answers with the same hint on the same case cannot be told apart); left
    blank (raises NotImplementedError); or a mistake no wrong answer declares (returns None). Every
    expectation is the verdict computed here, in this process, on the same object and seed."""
    import random

    from ..checks.declaration import REGISTRY, wrong_answer_ids
    from .verdict import grading_seed

    rng = random.Random(seed)
    ids = [e for e in exercises(source) if e in REGISTRY]
    notebooks: dict[str, Any] = {}
    expected: dict[str, dict[str, tuple[str, str | None]]] = {}
    for k in range(n_students):
        student = f"s{k:03d}"
        nb, want = source, {}
        ability = rng.random()
        odds = (weights[0] * 2 * ability, weights[1], weights[2] * 2 * (1 - ability), weights[3])
        for exercise in ids:
            check = REGISTRY[exercise]
            name, case_seed = check.object_name, grading_seed(instructor_seed, assignment, student, exercise)
            kind = rng.choices(["right", "wrong", "blank", "unexplained"], odds)[0]
            if kind == "wrong":
                order = list(range(len(check.wrong)))
                rng.shuffle(order)
                for index in order:
                    answer = declared_wrong_answer_source(exercise, index)
                    if _verdict_of(exercise, answer, case_seed) == ("failed", wrong_answer_ids(check)[index]):
                        break
                else:
                    kind = "right"
            if kind == "right":
                want[exercise] = ("passed", None)
                continue
            if kind == "blank":
                answer = _blank_source(name, check.expects)
            elif kind == "unexplained":
                answer = _none_source(name, check.expects)
            want[exercise] = _verdict_of(exercise, answer, case_seed)
            nb = with_wrong_answer(nb, exercise, answer)
        notebooks[student], expected[student] = nb, want
    return notebooks, expected
