"""Exercise checks: `checks.<exercise id>(obj)` checks a student's answer in the notebook.

Each check prints one stable line on success (`softmax: all 9 checks passed`) and raises
`AssertionError` with the call, the expected and actual values and a hint on failure. While the
exercise is still blank it prints `softmax: not implemented yet (0 of 1 point)`, so that Run All goes
through an unfinished notebook in every front end; under nbgrader (`NBGRADER_EXECUTION` set:
validate, autograde) it raises `NotImplementedError("softmax: not implemented yet")` instead.
The declarations live in `lesson*.py`; adding a lesson module adds its checks.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any, Callable

from .engine import REGISTRY, Check, run_check

for _module in pkgutil.iter_modules(__path__):
    if _module.name.startswith("lesson"):
        importlib.import_module(f"{__name__}.{_module.name}")


def _make(check: Check) -> Callable[[Any], None]:
    def check_answer(obj: Any) -> None:
        run_check(check, obj)

    check_answer.__name__ = check.id
    check_answer.__qualname__ = check.id
    check_answer.__doc__ = f"Check the exercise `{check.id}` of lesson {check.lesson}."
    return check_answer


for _check in REGISTRY.values():
    globals()[_check.id] = _make(_check)


def __dir__() -> list[str]:
    return sorted(list(globals()) + list(REGISTRY))


def __getattr__(name: str) -> Any:
    raise AttributeError(f"there is no check named {name!r}; known checks: {', '.join(sorted(REGISTRY))}")
