"""Exercise checks: `checks.<exercise id>(obj)` checks a student's answer in the notebook.

Each check prints one stable line on success (`softmax: all 9 checks passed`) and raises
`AssertionError` with the call, the expected and actual values and a hint on failure. While the
exercise is still blank it prints `softmax: not implemented yet (0 of 1 point)`, so that Run All goes
through an unfinished notebook in every front end; under nbgrader (`NBGRADER_EXECUTION` set:
validate, autograde) it raises `NotImplementedError("softmax: not implemented yet")` instead.
The declarations live in `lesson*.py`; adding a lesson module adds its checks.

Modules: `declaration` (what a check is: `Check`, `Case`, `WrongAnswer`, the registry, seeds),
`collection` (runs the code under test: the untrusted side), `outcome` (the record of one case's
outcome that crosses to the judge), `judgement` (compares with the reference: the trusted side),
`kernel` (what a check cell runs in the notebook), `plain` (plain data), `traps` (delegation traps),
`families` (random case families shared by the declarations), `clauses` (each exercise's contract and
the wrong answers that exercise its clauses).
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from .declaration import REGISTRY
from .kernel import exercise_checks

for _module in pkgutil.iter_modules(__path__):
    if _module.name.startswith("lesson"):
        importlib.import_module(f"{__name__}.{_module.name}")

globals().update(exercise_checks())


def __dir__() -> list[str]:
    return sorted(list(globals()) + list(REGISTRY))


def __getattr__(name: str) -> Any:
    raise AttributeError(f"there is no check named {name!r}; known checks: {', '.join(sorted(REGISTRY))}")
