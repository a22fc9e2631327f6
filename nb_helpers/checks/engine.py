"""The check engine: one runner for every exercise, driven by declarations (`Check`).

A check is run in two halves that exchange only plain data (`plain.py`):

* `collect` calls the object under test on each case — trapping forbidden callables, recording
  warnings, detecting mutation of the inputs — and describes what happened as plain data. This half
  runs wherever the student's code lives: in the notebook's kernel for feedback, in a sandboxed
  child process at grading time.
* `judge` runs the reference on the same cases, in a process the student's code never touched,
  and compares. It decides pass/fail and writes the message.

`run_check` joins both halves in the notebook's kernel: that is what a check cell calls.
"""

from __future__ import annotations

import copy
import hashlib
import os
import random
import re
import sys
import threading
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterator, Mapping, MutableMapping, Sequence

import numpy as np

from . import plain
from .traps import DelegationError, bound, delegation_by_identity, trapped

__all__ = [
    "Case", "WrongAnswer", "Check", "Verdict", "REGISTRY", "register", "collect", "judge",
    "run_check", "check_verdict", "not_implemented_line", "grading", "case_seed", "practice_seed", "describe_call",
]


# ------------------------------------------------------------------ declarations

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


# ------------------------------------------------------------------ collecting (untrusted side)

def _snapshot(value: Any) -> Any:
    try:
        import torch
    except ImportError:  # pragma: no cover
        torch = None
    if isinstance(value, np.ndarray):
        return ("nd", value.dtype.str, value.shape, value.tobytes())
    if torch is not None and isinstance(value, torch.Tensor):
        return ("t", str(value.dtype), tuple(value.shape), value.detach().cpu().numpy().tobytes())
    if isinstance(value, (list, tuple)):
        return tuple(_snapshot(v) for v in value)
    if isinstance(value, dict):
        return tuple((k, _snapshot(v)) for k, v in value.items())
    if isinstance(value, (int, float, str, bool, type(None), np.generic)):
        return value
    return None  # not compared (modules, generators, callables)


def _error_info(exc: BaseException) -> dict[str, Any]:
    return {
        "type": type(exc).__name__,
        "mro": [k.__name__ for k in type(exc).__mro__],
        "message": str(exc)[:300],
    }


def _default_probe(obj: Any, args: tuple, kwargs: dict) -> Any:
    return obj(*args, **kwargs)


def collect_one(check: Check, obj: Any, case: Case, namespace: MutableMapping[str, Any] | None,
                isolation: Mapping[str, Any] | None, forbidden: Sequence[str]) -> dict[str, Any]:
    """Run `obj` on one case and describe the outcome as plain data."""
    probe = check.probe or _default_probe
    outcome: dict[str, Any] = {"status": "ok", "warnings": [], "mutated": []}
    try:
        args, kwargs = case.fresh()
        before = [_snapshot(a) for a in args], {k: _snapshot(v) for k, v in kwargs.items()}
    except Exception as exc:  # a broken declaration must not pass silently
        return {"status": "error", "error": _error_info(exc), "warnings": [], "mutated": []}
    raw: Any = None
    with warnings.catch_warnings(record=True) as caught, \
            np.errstate(over="warn", divide="warn", invalid="warn", under="ignore"):
        warnings.simplefilter("always")
        with bound(namespace, dict(isolation or {})), trapped(forbidden, namespace) as tripped:
            try:
                raw = probe(obj, args, kwargs)
            except NotImplementedError:
                outcome["status"] = "not_implemented"
            except DelegationError:
                outcome["status"] = "delegated"
            except KeyboardInterrupt:
                raise
            except BaseException as exc:  # noqa: BLE001 - anything the student raises is an outcome
                outcome["status"] = "error"
                outcome["error"] = _error_info(exc)
        if tripped:
            outcome["status"] = "delegated"
            outcome["delegated_to"] = tripped[0]
    outcome["warnings"] = [
        {"category": w.category.__name__, "message": str(w.message)[:200]}
        for w in caught if issubclass(w.category, RuntimeWarning)
    ][:5]
    if outcome["status"] == "ok":
        try:
            outcome["value"] = plain.to_plain(raw)
        except Exception as exc:  # noqa: BLE001
            outcome["status"] = "error"
            outcome["error"] = {"type": "UnreadableResult", "mro": [], "message": str(exc)[:200]}
    after = [_snapshot(a) for a in args], {k: _snapshot(v) for k, v in kwargs.items()}
    outcome["mutated"] = [
        f"argument {i + 1}" for i, (b, a) in enumerate(zip(before[0], after[0])) if b is not None and b != a
    ] + [f"argument {k!r}" for k in before[1] if before[1][k] is not None and before[1][k] != after[1][k]]
    return outcome


def collect(check: Check, obj: Any, cases: Sequence[Case], namespace: MutableMapping[str, Any] | None = None,
            isolation: Mapping[str, Any] | None = None, trap: bool = True,
            allow_reference: bool = False) -> list[dict[str, Any]]:
    """Outcomes of `obj` on every case, as plain data.

    With `trap` (always, for a student's answer), an answer that *is* a forbidden routine or the
    course's reference (the same object, a partial, copy, subclass or thin wrapper of it) is not
    run: every case records the delegation. `allow_reference` lets the course's tests hand the
    reference itself to the full check.
    """
    forbidden = check.forbidden_with_reference() if trap else []
    if trap and not allow_reference:
        label = delegation_by_identity(obj, forbidden)
        if label is not None:
            return [{"status": "delegated", "delegated_to": label, "identity": True, "warnings": [], "mutated": []}
                    for _ in cases]
    return [collect_one(check, obj, case, namespace, isolation, forbidden) for case in cases]


# ------------------------------------------------------------------ judging (trusted side)

@dataclass
class Verdict:
    id: str
    passed: bool
    n_cases: int
    message: str = ""
    not_implemented: bool = False
    reason: str = ""
    #: What the instructor's report records of a failure (nb_helpers.grading.diagnosis): the declared
    #: wrong answer the first failing case matched (its `wrong_answer_ids` id; None: unexplained),
    #: the hint shown, the problem as shown (hidden cases redacted), and how many cases failed.
    mistake: str | None = None
    hint: str = ""
    problem: str = ""
    n_failed: int = 0
    #: A scored check's own pass line (e.g. the capstone's accuracy and parameter count); None: the
    #: generic "all N checks passed".
    summary: str | None = None

    @property
    def status(self) -> str:
        """passed, not_implemented, delegated, memory, missing (the name is not defined) or failed."""
        if self.passed:
            return "passed"
        if self.not_implemented:
            return "not_implemented"
        return self.reason if self.reason in ("delegated", "memory", "missing") else "failed"

    @property
    def pass_line(self) -> str:
        return self.summary or f"{self.id}: all {self.n_cases} checks passed"


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


def _same_outcome(check: Check, a: dict[str, Any], b: dict[str, Any]) -> bool:
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
        with _quiet():
            return bool(np.allclose(x.astype(np.float64), y.astype(np.float64), rtol=1e-6, atol=1e-9, equal_nan=True))
    return _compare(av, bv, "plain", 1e-6, 1e-9) is None


def _hint_for(check: Check, case: Case, actual: dict[str, Any], warned: bool) -> str:
    """The hint of the first declared wrong answer that reproduces the student's outcome."""
    return _explain(check, case, actual, warned)[0]


def _explain(check: Check, case: Case, actual: dict[str, Any], warned: bool) -> tuple[str, int | None]:
    """(`_hint_for`'s hint, the index in `check.wrong` of the wrong answer it came from, or None)."""
    if actual.get("status") in ("missing", "delegated"):
        return "", None  # nothing was computed: the problem line says it all
    for index, wrong in enumerate(check.wrong):
        with _quiet():
            w = collect_one(check, wrong.func, case, None, None, ())
        same_warnings = [x["message"] for x in w["warnings"]] == [x["message"] for x in actual.get("warnings", [])]
        if same_warnings and _same_outcome(check, actual, w):
            return wrong.hint, index
    for index, wrong in enumerate(check.wrong if warned else ()):
        with _quiet():
            w = collect_one(check, wrong.func, case, None, None, ())
        if w["warnings"]:
            return wrong.hint, index
    if warned:
        return case.hint or check.warning_hint, None
    return case.hint or check.hint, None


def judge(check: Check, cases: Sequence[Case], outcomes: Sequence[Any], *, redact: bool = False,
          expected: Sequence[dict[str, Any]] | None = None) -> Verdict:
    """Compare the outcomes of the code under test with the reference's, case by case.

    With `redact`, failures on random (hidden) cases never show inputs or values.
    """
    n = len(cases)
    if not isinstance(outcomes, list) or len(outcomes) != n or not all(isinstance(o, dict) for o in outcomes):
        return Verdict(check.id, False, n, f"{check.id}: the code under test returned no usable result.", reason="protocol")
    if any(o.get("status") == "not_implemented" for o in outcomes):
        return Verdict(check.id, False, n, f"{check.id}: not implemented yet", not_implemented=True, reason="not_implemented")
    if check.score is not None:  # judged by its own rule (a threshold), not against the reference
        return check.score(check, cases, outcomes, redact)
    if expected is None:
        with _quiet(), _python_random_for_this_thread_only():
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


def _problem(check: Check, got: dict[str, Any], want: dict[str, Any], exact: bool = False,
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


def _message(check: Check, case: Case, got: dict[str, Any], want: dict[str, Any], problem: str,
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


@contextmanager
def _python_random_for_this_thread_only() -> Iterator[None]:
    """While this thread runs a reference, other threads of the process that call the `random`
    module's functions (a Dask worker's event loop retries connections with random backoff) draw
    from a generator of their own, so that the draws a check seeds and records are the seeded ones.
    (NumPy's and torch's global generators are not used by such threads.)"""
    owner, private = threading.get_ident(), random.Random()
    originals = {name: getattr(random, name) for name in random.__all__
                 if getattr(getattr(random, name), "__self__", None) is random._inst}

    def routed(name: str, own: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            if threading.get_ident() == owner:
                return own(*args, **kwargs)
            return getattr(private, name)(*args, **kwargs)
        return call

    for name, own in originals.items():
        setattr(random, name, routed(name, own))
    try:
        yield
    finally:
        for name, own in originals.items():
            setattr(random, name, own)


@contextmanager
def _quiet() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            yield


# ------------------------------------------------------------------ in-kernel runner

@contextmanager
def preserved_state() -> Iterator[None]:
    """Restore Python/NumPy/torch RNG states, grad mode and default dtype afterwards."""
    py_state = random.getstate()
    np_state = np.random.get_state()
    torch = sys.modules.get("torch")
    if torch is not None:
        t_state = torch.random.get_rng_state()
        cuda_states = torch.cuda.get_rng_state_all() if torch.cuda.is_available() and torch.cuda.is_initialized() else None
        grad = torch.is_grad_enabled()
        dtype = torch.get_default_dtype()
    try:
        yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
        if torch is not None:
            torch.random.set_rng_state(t_state)
            if cuda_states is not None:
                torch.cuda.set_rng_state_all(cuda_states)
            torch.set_grad_enabled(grad)
            torch.set_default_dtype(dtype)


def namespace_of(obj: Any) -> MutableMapping[str, Any] | None:
    """The global namespace the object looks names up in (a notebook's `__main__`)."""
    if hasattr(obj, "__globals__"):
        return obj.__globals__
    module = sys.modules.get(getattr(obj, "__module__", "") or "")
    return vars(module) if module is not None else None


def grading() -> bool:
    """True while nbgrader executes the notebook (`NBGRADER_EXECUTION` set: validate, autograde)."""
    return bool(os.environ.get("NBGRADER_EXECUTION"))


def not_implemented_line(exercise: str) -> str:
    """What a check cell prints for an exercise that is still blank, outside nbgrader (Run All goes on)."""
    return f"{exercise}: not implemented yet (0 of 1 point)"


def check_verdict(check: Check, obj: Any, *, seed: int | None = None, allow_reference: bool = False) -> Verdict:
    """The verdict on `obj`, computed in this process (collect and judge, RNG and grad state kept);
    raises AssertionError when `obj` is not even callable."""
    if obj is None or not callable(obj):
        raise AssertionError(
            f"{check.id}: expected the {check.expects} `{check.object_name}`, got {type(obj).__name__}"
        ) from None
    cases = check.all_cases(practice_seed(check.id) if seed is None else seed)
    with preserved_state():
        namespace = namespace_of(obj)
        isolation = lesson_references(check.lesson, except_id=check.id)
        outcomes = plain.decode(plain.encode(collect(check, obj, cases, namespace, isolation,
                                                     allow_reference=allow_reference)))
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
    if check.time_limit is not None and os.environ.get("NBGRADER_EXECUTION") == "autograde":
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
