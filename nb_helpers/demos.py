"""Demo cells use the student's function once it passes its check, the reference until then."""

from __future__ import annotations

import contextlib
import io
from typing import Any

from .checks.engine import REGISTRY, check_verdict


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


def yours_or_reference(exercise: str, obj: Any, quiet: bool = False) -> Any:
    """`obj` if it passes its check, else the course's reference; prints which one the demo uses."""
    check = REGISTRY[exercise]
    if passes(exercise, obj):
        if not quiet:
            print(f"(this demo uses your {check.object_name})")
        return obj
    if not quiet:
        print(f"(this demo uses the reference {check.object_name}: yours does not pass its check yet)")
    return check.reference
