"""The check as a notebook's kernel runs it: `checks.<exercise>(obj)` collects and judges in this
process, prints the pass line or raises (see `nb_helpers.checks`).

At autograde the grade comes from elsewhere (`nb_helpers.grading.verdict`); the kernel's check
cells only give the student's feedback. Importing the checks (this module included) does not load
the judge (`judgement`): the fork server, which imports them for the declarations, never does.
"""

from __future__ import annotations

import os
from typing import Any, Callable

from ..conventions import NBGRADER_EXECUTION_ENV
from . import outcome
from .collection import collect, namespace_of, preserved_state
from .declaration import REGISTRY, Check, lesson_references, practice_seed
from .outcome import Verdict

__all__ = ["run_check", "check_verdict", "exercise_checks", "LAST_VERDICTS", "not_implemented_line",
           "autograde_skip_line", "grading"]


def grading(mode: str | None = None) -> bool:
    """True while nbgrader executes the notebook (`NBGRADER_EXECUTION` set: validate, autograde);
    with `mode`, only while it does so for that command ("validate" or "autograde")."""
    value = os.environ.get(NBGRADER_EXECUTION_ENV)
    return bool(value) if mode is None else value == mode


def not_implemented_line(exercise: str) -> str:
    """What a check cell prints for an exercise that is still blank, outside nbgrader (Run All goes on)."""
    return f"{exercise}: not implemented yet (0 of 1 point)"


def check_verdict(check: Check, obj: Any, *, seed: int | None = None, allow_reference: bool = False) -> Verdict:
    """The verdict on `obj`, computed in this process (collect and judge, RNG and grad state kept);
    raises AssertionError when `obj` is not even callable."""
    from .judgement import judge  # loaded by the first check: a process that only collects never loads it

    if obj is None or not callable(obj):
        raise AssertionError(
            f"{check.id}: expected the {check.expects} `{check.object_name}`, got {type(obj).__name__}"
        ) from None
    cases = check.all_cases(practice_seed(check.id) if seed is None else seed)
    with preserved_state():
        namespace = namespace_of(obj)
        isolation = lesson_references(check.lesson, except_id=check.id)
        # through JSON, as from the fork server's child: the judge sees exactly what grading would,
        # and the record is validated as grading validates it (a garbled one: "no usable result")
        collected = collect(check, obj, cases, namespace, isolation, allow_reference=allow_reference)
        try:
            outcomes: Any = outcome.from_json(outcome.to_json(collected), len(cases))
        except outcome.OutcomeError:
            outcomes = None
        return judge(check, cases, outcomes)


#: The last verdict each check cell gave in this process, with the object it judged: `progress()`
#: shows it for checks too slow to run again (it trains a model) while that object is still the answer.
LAST_VERDICTS: dict[str, tuple[Any, Verdict]] = {}


def autograde_skip_line(exercise: str) -> str:
    """What the kernel's check cell of a time-limited exercise (it trains a model) prints at autograde,
    where the verdict, computed in the grader's sandbox, replaces it."""
    return f"{exercise}: not run in the notebook at autograde; the grader runs and scores it"


def run_check(check: Check, obj: Any, *, seed: int | None = None, allow_reference: bool = False) -> None:
    """Check `obj` in this process: print the pass line, or raise AssertionError on a wrong answer.

    A blank exercise (the answer raises NotImplementedError) raises
    `NotImplementedError("<id>: not implemented yet")` under nbgrader (`NBGRADER_EXECUTION` set);
    anywhere else it prints one line, `<id>: not implemented yet (0 of 1 point)`, and returns, so
    that Run All goes through an unfinished notebook in every front end (Colab and VS Code stop at
    the first error and ignore the `raises-exception` tag).
    `allow_reference` is for the course's own tests, which hand the reference itself to its check.
    """
    if check.time_limit is not None and grading("autograde"):
        print(autograde_skip_line(check.id))  # the grader runs it in its sandbox; this output is replaced
        return
    verdict = check_verdict(check, obj, seed=seed, allow_reference=allow_reference)
    LAST_VERDICTS[check.id] = (obj, verdict)
    if verdict.not_implemented:
        if grading():
            raise NotImplementedError(verdict.message) from None
        print(not_implemented_line(check.id))
        return
    if not verdict.passed:
        raise AssertionError(verdict.message) from None
    print(verdict.pass_line)


def exercise_check(check: Check) -> Callable[[Any], None]:
    """`checks.<exercise id>`: what the exercise's check cell calls, `run_check(check, obj)`."""
    def check_answer(obj: Any) -> None:
        run_check(check, obj)

    check_answer.__name__ = check.id
    check_answer.__qualname__ = check.id
    check_answer.__doc__ = f"Check the exercise `{check.id}` of lesson {check.lesson}."
    return check_answer


def exercise_checks() -> dict[str, Callable[[Any], None]]:
    """An `exercise_check` for every declared check (`REGISTRY`), by exercise id."""
    return {check.id: exercise_check(check) for check in REGISTRY.values()}
