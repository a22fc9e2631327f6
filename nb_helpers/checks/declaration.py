"""Declarations of the checks: what each exercise's check runs (`Check`, its `Case`s and declared
`WrongAnswer`s), the registry of every lesson's checks, and the seeds of their random cases.

Declarations are data: `collection` runs the code under test on them, `judgement` decides.
"""

from __future__ import annotations

import copy
import hashlib
import re
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping, Sequence

import numpy as np

__all__ = ["Case", "WrongAnswer", "Check", "REGISTRY", "register", "wrong_answer_ids", "lesson_references",
           "case_seed", "practice_seed"]


@dataclass(frozen=True)
class Case:
    """One call of the function under test: positional and keyword arguments.

    `hint` is shown when this case fails and no declared wrong answer explains the failure;
    `make` builds fresh arguments for cases that cannot be deep-copied (generators, modules).
    `random` cases come from a family drawn with a seed: they are redacted in grading feedback.
    """

    args: tuple = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    hint: str | None = None
    make: Callable[[], tuple[tuple, dict]] | None = None
    random: bool = False
    exact: bool = False

    def fresh(self) -> tuple[tuple, dict]:
        if self.make is not None:
            return self.make()
        return copy.deepcopy(self.args), copy.deepcopy(dict(self.kwargs))


@dataclass(frozen=True)
class WrongAnswer:
    """A known wrong implementation, the hint a student who wrote it should read, and the one
    contract clause it violates (a name of `clauses.CLAUSES`)."""

    func: Callable[..., Any]
    hint: str
    clause: str = "value"
    #: Its stable name within its check, for the instructor's report (`wrong_answer_ids`); default:
    #: the function's own name where it is unique in the check, else one derived from the hint.
    name: str | None = None


@dataclass
class Check:
    """Declaration of one exercise's check (the rules every check follows: CONTRIBUTING.md, "Adding an exercise").

    result: "array" (np.ndarray or np.generic of the reference's shape), "float" (a Python float,
    NumPy scalar or 0-d array) or "plain" (a `probe` returns nested plain data, compared node by node).
    probe: how to exercise the object under test on a case; defaults to `obj(*args, **kwargs)`.
    """

    id: str
    lesson: str
    reference: Callable[..., Any]
    cases: Sequence[Case]
    families: Callable[[np.random.Generator], Sequence[Case]] | None = None
    result: str = "array"
    rtol: float = 1e-7
    atol: float = 1e-12
    forbidden: Sequence[str] = ()
    wrong: Sequence[WrongAnswer] = ()
    hint: str = "compare your formula with the one in the text above."
    warning_hint: str = "an intermediate value overflowed; rewrite the formula so no exponential gets a large positive argument."
    probe: Callable[[Any, tuple, dict], Any] | None = None
    name: str | None = None
    expects: str = "function"
    #: An answer that hands the work to a forbidden library routine (the tests assert it is rejected).
    delegate: Callable[..., Any] | None = None
    #: Seconds the answer may run at grading (this exercise's verdict time limit; None: the grader's
    #: `check_timeout`). Under autograde the kernel's own check cell does not run it (`run_check`).
    time_limit: float | None = None
    #: A check judged by a rule of its own instead of against the reference (the capstone's accuracy
    #: threshold): `score(check, cases, outcomes, redact) -> Verdict`; the reference is then never run.
    score: Callable[..., Any] | None = None

    @property
    def object_name(self) -> str:
        return self.name or self.id

    def all_cases(self, seed: int) -> list[Case]:
        """The visible cases followed by the random families drawn with `seed`."""
        drawn = list(self.families(np.random.default_rng(seed))) if self.families else []
        return list(self.cases) + [replace(c, random=True) for c in drawn]

    def forbidden_with_reference(self) -> list[str]:
        ref = self.reference
        own = f"{getattr(ref, '__module__', '')}.{getattr(ref, '__qualname__', '')}"
        return list(self.forbidden) + ([own] if own.startswith("nb_helpers.") else [])


REGISTRY: dict[str, Check] = {}


def register(check: Check) -> Check:
    if check.id in REGISTRY:
        raise ValueError(f"duplicate check id {check.id!r}")
    REGISTRY[check.id] = check
    return check


def wrong_answer_ids(check: Check) -> list[str]:
    """A stable id per declared wrong answer of `check`, in declaration order: `<check id>:<name>`,
    the name being the declared `name`, else the function's `__name__` where it is an identifier
    unique among the check's wrong answers (not the exercise's own name), else the hint's first
    words and a digest of the hint. None depends on the declaration order, except that wrong
    answers with the very same hint are numbered (-2, -3, ...) in order."""
    names = [getattr(w.func, "__name__", "") for w in check.wrong]
    ids: list[str] = []
    for wrong, fname in zip(check.wrong, names):
        if wrong.name:
            name = wrong.name
        elif fname.isidentifier() and names.count(fname) == 1 and fname != check.object_name:
            name = fname
        else:
            words = re.findall(r"[a-z0-9]+", wrong.hint.lower())[:5]
            name = "-".join(words)[:40].strip("-") + "-" + hashlib.sha256(wrong.hint.encode()).hexdigest()[:6]
        ident = f"{check.id}:{name}"
        if ident in ids:
            ident += f"-{sum(1 for i in ids if i == ident or i.startswith(ident + '-')) + 1}"
        ids.append(ident)
    return ids


def lesson_references(lesson: str, except_id: str | None = None) -> dict[str, Any]:
    """Isolation bindings: every other graded name of `lesson` -> its reference."""
    return {c.object_name: c.reference for c in REGISTRY.values() if c.lesson == lesson and c.id != except_id}


# ------------------------------------------------------------------ seeds

def case_seed(*parts: object) -> int:
    """A 63-bit seed derived from its parts, e.g. (instructor seed, assignment, student, exercise)."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def practice_seed(exercise: str) -> int:
    """Seed of the random cases a student sees in the notebook (not the grading seed)."""
    return case_seed("practice", exercise)
