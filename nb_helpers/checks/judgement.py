"""Judgement, the trusted side of a check: compare the outcomes of the code under test with the
reference's, case by case, decide pass or fail and write the message.

This runs where the student's code never ran: in the grading process at autograde (on the outcomes
the fork server's child sent, read back with `outcome.from_json`), or in the notebook's kernel for
feedback. Outcomes are validated first (`outcome.validated`): a forged or garbled record fails.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .collection import collect, collect_one, python_random_for_this_thread_only, quiet
from .declaration import Case, Check, wrong_answer_ids
from .outcome import Outcome, OutcomeError, Verdict, validated_all

__all__ = ["judge", "describe_call"]


def _render_value(a: Any, max_items: int = 8) -> str:
    if isinstance(a, np.ndarray):
        if a.size <= max_items:
            body = repr(a.tolist())
            return f"np.array({body})"
        return f"<{a.dtype} array of shape {a.shape}>"
    if isinstance(a, (list, tuple)) and len(a) > max_items:
        return f"<{type(a).__name__} of {len(a)} items>"
    try:
        import torch

        if isinstance(a, torch.Tensor):
            if a.numel() <= max_items:
                return f"torch.tensor({a.tolist()!r}, dtype={a.dtype})"
            return f"<{a.dtype} tensor of shape {tuple(a.shape)}>"
    except ImportError:  # pragma: no cover
        pass
    return repr(a) if len(repr(a)) < 80 else f"<{type(a).__name__}>"


def describe_call(name: str, case: Case) -> str:
    args, kwargs = case.fresh()
    parts = [_render_value(a) for a in args] + [f"{k}={_render_value(v)}" for k, v in kwargs.items()
                                                  if not k.startswith("_")]  # private markers of a declaration
    return f"{name}({', '.join(parts)})"


def _show(p: dict[str, Any] | None) -> str:
    """Human-readable form of a plain value (for visible cases)."""
    if p is None:
        return "nothing"
    kind = p.get("type")
    if kind in ("ndarray", "generic", "float", "int", "bool", "tensor"):
        arr = p["array"]
        text = np.array2string(np.asarray(arr), precision=4, threshold=20, edgeitems=3)
        if kind == "tensor":
            return f"tensor({text}, dtype={p.get('dtype')})"
        if kind in ("float", "int", "bool"):
            return repr(arr.item())
        return text
    if kind == "none":
        return "None"
    if kind == "str":
        return repr(p.get("value"))
    if kind in ("list", "tuple", "dict"):
        return f"a {kind}"
    return f"an object of type {p.get('class')}"


def _describe(p: dict[str, Any] | None, redact: bool) -> str:
    """`_show` for visible cases; only the kind (type, dtype, shape) for hidden ones."""
    if not redact:
        return _show(p)
    if p is None:
        return "nothing"
    if "array" in p:
        return f"a {p.get('type')} of shape {np.asarray(p['array']).shape}"
    return f"a value of type {p.get('class') or p.get('type')}"


def _compare(actual: Any, expected: Any, kind: str, rtol: float, atol: float, redact: bool = False) -> str | None:
    """None when `actual` matches `expected`; else what is wrong. With `redact`, the answer names
    kinds, shapes and dtypes only, never values (hidden cases)."""
    if not isinstance(actual, dict) or "type" not in actual:
        return "returned something unreadable"
    a_type, e_type = actual.get("type"), expected.get("type")
    if kind == "array":
        if a_type == "none":
            return "returned None (is a `return` statement missing?)"
        if a_type == "tensor":
            return "returned a torch tensor; return a NumPy array"
        if a_type in ("float", "int") and np.asarray(expected["array"]).ndim > 0:
            return "returned a single number; return an array with the input's shape"
        if a_type not in ("ndarray", "generic"):
            return f"returned {_describe(actual, redact)}; return a NumPy array"
        a, e = np.asarray(actual["array"]), np.asarray(expected["array"])
        if a.dtype.kind == "b":
            return "returned booleans; return 0.0/1.0 floats (e.g. `.astype(float)`)"
        if a.shape != e.shape:
            return f"returned shape {a.shape}; expected shape {e.shape}"
        return _compare_numbers(a, e, rtol, atol)
    if kind == "float":
        if a_type == "none":
            return "returned None (is a `return` statement missing?)"
        if a_type == "tensor":
            return "returned a torch tensor; return a float"
        if a_type not in ("float", "int", "generic", "ndarray"):
            return f"returned {_describe(actual, redact)}; return a float"
        a = np.asarray(actual["array"])
        if a.ndim != 0:
            return f"returned an array of shape {a.shape}; return a single float (e.g. the mean)"
        return _compare_numbers(a, np.asarray(expected["array"]), rtol, atol)
    # "plain": structural comparison
    if a_type != e_type and not ({a_type, e_type} <= {"float", "int", "generic"}):
        return f"returned {_describe(actual, redact)}; expected {_describe(expected, redact)}"
    if e_type in ("dict",):
        for k, ev in expected["items"].items():
            if k not in actual["items"]:
                return f"has no {k!r}"
            problem = _compare(actual["items"][k], ev, "plain", rtol, atol, redact)
            if problem:
                return f"{k}: {problem}"
        return None
    if e_type in ("list", "tuple"):
        if len(actual["items"]) != len(expected["items"]):
            return f"returned {len(actual['items'])} items; expected {len(expected['items'])}"
        for i, (av, ev) in enumerate(zip(actual["items"], expected["items"])):
            problem = _compare(av, ev, "plain", rtol, atol, redact)
            if problem:
                return f"item {i}: {problem}"
        return None
    if e_type == "str":
        return None if actual.get("value") == expected.get("value") else f"returned {_describe(actual, redact)}; expected {_describe(expected, redact)}"
    if e_type == "tensor":
        if actual.get("dtype") != expected.get("dtype"):
            return f"returned dtype {actual.get('dtype')}; expected {expected.get('dtype')}"
        a, e = np.asarray(actual["array"]), np.asarray(expected["array"])
        if a.shape != e.shape:
            return f"returned shape {a.shape}; expected shape {e.shape}"
        return _compare_numbers(a, e, rtol, atol)
    if "array" in expected:
        a, e = np.asarray(actual["array"]), np.asarray(expected["array"])
        if a.shape != e.shape:
            return f"returned shape {a.shape}; expected shape {e.shape}"
        return _compare_numbers(a, e, rtol, atol)
    return None if a_type == e_type else f"returned {_describe(actual, redact)}; expected {_describe(expected, redact)}"


def _compare_numbers(a: np.ndarray, e: np.ndarray, rtol: float, atol: float) -> str | None:
    try:
        a64, e64 = a.astype(np.float64), e.astype(np.float64)
    except (TypeError, ValueError):
        return "returned values that are not real numbers"
    if np.isnan(a64).any() and not np.isnan(e64).any():
        return "returned NaN"
    if np.isinf(a64).any() and not np.isinf(e64).any():
        return "returned inf"
    if not np.allclose(a64, e64, rtol=rtol, atol=atol, equal_nan=True):
        return "returned wrong values"
    return None


def _same_outcome(a: Outcome, b: Outcome) -> bool:
    """Do two outcomes look the same (used to recognise a known wrong answer)? Changing an input
    in place is part of the outcome: an answer that does is told so, one that does not is not."""
    if a.get("status") != b.get("status") or bool(a.get("mutated")) != bool(b.get("mutated")):
        return False
    if a.get("status") == "error":
        return a.get("error", {}).get("type") == b.get("error", {}).get("type")
    if a.get("status") != "ok":
        return False
    av, bv = a.get("value") or {}, b.get("value") or {}
    if av.get("type") != bv.get("type"):
        return False
    if "array" in av and "array" in bv:
        x, y = np.asarray(av["array"]), np.asarray(bv["array"])
        if x.shape != y.shape or x.dtype.kind != y.dtype.kind:
            return False
        with quiet():
            return bool(np.allclose(x.astype(np.float64), y.astype(np.float64), rtol=1e-6, atol=1e-9, equal_nan=True))
    return _compare(av, bv, "plain", 1e-6, 1e-9) is None


def _explain(check: Check, case: Case, actual: Outcome, warned: bool) -> tuple[str, int | None]:
    """(the hint of the first declared wrong answer that reproduces the student's outcome, else the
    case's or the check's own hint; the index in `check.wrong` of that wrong answer, or None)."""
    if actual.get("status") in ("missing", "delegated"):
        return "", None  # nothing was computed: the problem line says it all
    for index, wrong in enumerate(check.wrong):
        with quiet():
            w = collect_one(check, wrong.func, case, None, None, ())
        same_warnings = [x["message"] for x in w["warnings"]] == [x["message"] for x in actual.get("warnings", [])]
        if same_warnings and _same_outcome(actual, w):
            return wrong.hint, index
    for index, wrong in enumerate(check.wrong if warned else ()):
        with quiet():
            w = collect_one(check, wrong.func, case, None, None, ())
        if w["warnings"]:
            return wrong.hint, index
    if warned:
        return case.hint or check.warning_hint, None
    return case.hint or check.hint, None


def judge(check: Check, cases: Sequence[Case], outcomes: Any, *, redact: bool = False) -> Verdict:
    """Compare the outcomes of the code under test (one `Outcome` per case, as plain data from
    wherever it ran) with the reference's, computed here, case by case.

    Anything but a list of valid outcomes, one per case, fails ("no usable result"). With `redact`,
    failures on random (hidden) cases never show inputs or values.
    """
    n = len(cases)
    try:
        outcomes = validated_all(outcomes, n)  # they may come from the student's process: never trusted
    except OutcomeError:
        return Verdict(check.id, False, n, f"{check.id}: the code under test returned no usable result.", reason="protocol")
    if any(o.get("status") == "not_implemented" for o in outcomes):
        return Verdict(check.id, False, n, f"{check.id}: not implemented yet", not_implemented=True, reason="not_implemented")
    if check.score is not None:  # judged by its own rule (a threshold), not against the reference
        return check.score(check, cases, outcomes, redact)
    with quiet(), python_random_for_this_thread_only():
        expected = collect(check, check.reference, cases, trap=False)
    failures = 0
    first: str | None = None
    found: dict[str, Any] = {}
    for case, got, want in zip(cases, outcomes, expected):
        problem, warned = _problem(check, got, want, exact=case.exact, redact=redact and case.random)
        if problem is None:
            continue
        failures += 1
        if first is None:
            first = _message(check, case, got, want, problem, warned, redact and case.random, found)
    if failures == 0:
        return Verdict(check.id, True, n)
    return Verdict(check.id, False, n, f"{first}\n({failures} of {n} checks failed)", reason=found["reason"],
                   mistake=found["mistake"], hint=found["hint"], problem=found["problem"], n_failed=failures)


def _problem(check: Check, got: Outcome, want: Outcome, exact: bool = False,
             redact: bool = False) -> tuple[str | None, bool]:
    status = got.get("status")
    if status == "missing":
        if got.get("note"):
            return f"`{check.object_name}` is not defined: {got['note']}", False
        return f"`{check.object_name}` is not defined (did its solution cell run without errors?)", False
    if status == "delegated" and got.get("identity"):
        return f"is {got.get('delegated_to', 'a forbidden routine')} itself, which computes the answer for you", False
    if status == "delegated":
        return f"called {got.get('delegated_to', 'a forbidden routine')}, which computes the answer for you", False
    if want["status"] == "error":
        expected_type = want["error"]["type"]
        if status == "error" and expected_type in got.get("error", {}).get("mro", []):
            return None, False
        if status == "error":
            return f"raised {got['error']['type']}; expected {expected_type}", False
        return f"returned a value; expected it to raise {expected_type}", False
    if status == "error":
        err = got.get("error", {})
        if err.get("type") == "MemoryError":
            return "ran out of memory (MemoryError)", False
        return f"raised {err.get('type', 'an error')}: {err.get('message', '')}", False
    if got.get("warnings"):
        w = got["warnings"][0]
        return f"triggered a NumPy RuntimeWarning ({w.get('message', '')})", True
    if got.get("mutated"):
        return f"modified its {', '.join(got['mutated'])} in place; build a new result instead", False
    rtol, atol = (0.0, 0.0) if exact else (check.rtol, check.atol)
    return _compare(got.get("value"), want.get("value"), check.result, rtol, atol, redact), False


def _message(check: Check, case: Case, got: Outcome, want: Outcome, problem: str,
             warned: bool, hidden: bool, found: dict[str, Any] | None = None) -> str:
    """The failure message; `found` (if given) receives the diagnosis: reason, mistake, hint, problem."""
    hint, index = _explain(check, case, got, warned)
    if got.get("status") == "delegated":
        hint = f"implement it from elementary operations; {check.id} may not call {got.get('delegated_to')}."
    if found is not None:
        status, error = got.get("status"), got.get("error", {}).get("type")
        found.update(reason="memory" if error == "MemoryError" else status if status in ("delegated", "missing")
                     else "value", mistake=None if index is None else wrong_answer_ids(check)[index], hint=hint,
                     problem=problem.split(":")[0] if hidden and status == "error" else problem)
    if hidden:
        args, _ = case.fresh()
        shapes = ", ".join(
            f"{a.dtype} array of shape {a.shape}" if isinstance(a, np.ndarray) else type(a).__name__ for a in args
        )
        problem = problem.split(":")[0] if got.get("status") == "error" else problem
        text = f"{check.id}: a hidden test case ({shapes}) failed: the function {problem}."
        return f"{text}\nhint: {hint}" if hint else text
    call = describe_call(check.object_name, case)
    lines = [f"{call} {problem}"]
    if got.get("status") == "ok" and not warned and not got.get("mutated"):
        lines = [f"{call} returned {_show(got.get('value'))}", f"({problem})"]
    if want.get("status") == "ok" and want.get("value") is not None and got.get("status") in ("ok", "error"):
        lines.append(f"expected {_show(want['value'])}")
    if hint:
        lines.append(f"hint: {hint}")
    return "\n".join(lines)
