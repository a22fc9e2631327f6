"""Demo cells use the student's function once it passes its check, the reference until then."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Mapping
from typing import Any

from .checks.declaration import REGISTRY
from .checks.kernel import check_verdict


def passes(exercise: str, obj: Any) -> bool:
    """Does `obj` pass the check of `exercise`? (silently; never raises)

    A blank answer does not pass, in or out of nbgrader: the verdict is read directly, not from
    what `run_check` prints or raises (outside nbgrader a blank check only prints a line).
    """
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            return check_verdict(REGISTRY[exercise], obj).passed
    except Exception:  # noqa: BLE001 - any failure means "not yet"
        return False


def yours_or_reference(exercise: str, obj: Any, quiet: bool = False, needs: Mapping[str, Any] | None = None) -> Any:
    """`obj` if it passes its check, else the course's reference; prints one line saying which one the demo uses.

    needs: {exercise id: the student's object} of the graded functions `obj` calls. A check binds their
    references in (isolation), so `obj` can pass while one of them is still blank or wrong; the demo then
    uses the reference, because running `obj` would call the student's broken function.
    """
    check = REGISTRY[exercise]
    if passes(exercise, obj):
        failing = [REGISTRY[other].object_name for other, theirs in (needs or {}).items() if not passes(other, theirs)]
        if not failing:
            if not quiet:
                print(f"(this demo uses your {check.object_name})")
            return obj
        if not quiet:
            which = "which does not pass its check" if len(failing) == 1 else "which do not pass their checks"
            print(f"(this demo uses the reference {check.object_name}: yours calls your {' and '.join(failing)}, {which} yet)")
        return check.reference
    if not quiet:
        print(f"(this demo uses the reference {check.object_name}: yours does not pass its check yet)")
    return check.reference
