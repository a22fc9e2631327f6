"""Collection, the untrusted side of a check: run the code under test on the cases and describe
what happened as `outcome.Outcome` records.

This runs wherever the student's code lives: in the notebook's kernel for feedback, in the fork
server's sandboxed child at grading (`nb_helpers.grading.forkserver`). It traps forbidden callables,
records RuntimeWarnings and detects mutation of the inputs; it never judges, and never imports the
judge (`judgement`): at grading, the verdict is decided in the trusted process, from the outcomes
alone.
"""

from __future__ import annotations

import random
import sys
import threading
import warnings
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Mapping, MutableMapping, Sequence

import numpy as np

from . import plain
from .declaration import Case, Check
from .outcome import ErrorInfo, Outcome, OutcomeStatus, WarningInfo, outcome
from .traps import DelegationError, bound, delegation_by_identity, trapped

__all__ = ["collect", "collect_one", "missing", "preserved_state", "namespace_of", "quiet", "python_random_for_this_thread_only"]


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


def _error_info(exc: BaseException) -> ErrorInfo:
    return {
        "type": type(exc).__name__,
        "mro": [k.__name__ for k in type(exc).__mro__],
        "message": str(exc)[:300],
    }


def _default_probe(obj: Any, args: tuple, kwargs: dict) -> Any:
    return obj(*args, **kwargs)


def collect_one(check: Check, obj: Any, case: Case, namespace: MutableMapping[str, Any] | None,
                isolation: Mapping[str, Any] | None, forbidden: Sequence[str]) -> Outcome:
    """Run `obj` on one case (through the check's probe) and describe the outcome."""
    probe = check.probe or _default_probe
    status: OutcomeStatus = "ok"
    fields: dict[str, Any] = {}
    try:
        args, kwargs = case.fresh()
        before = [_snapshot(a) for a in args], {k: _snapshot(v) for k, v in kwargs.items()}
    except Exception as exc:  # a broken declaration must not pass silently
        return outcome("error", error=_error_info(exc))
    raw: Any = None
    with warnings.catch_warnings(record=True) as caught, \
            np.errstate(over="warn", divide="warn", invalid="warn", under="ignore"):
        warnings.simplefilter("always")
        with bound(namespace, dict(isolation or {})), trapped(forbidden, namespace) as tripped:
            try:
                raw = probe(obj, args, kwargs)
            except NotImplementedError:
                status = "not_implemented"
            except DelegationError:
                status = "delegated"
            except KeyboardInterrupt:
                raise
            except BaseException as exc:  # noqa: BLE001 - anything the student raises is an outcome
                status = "error"
                fields["error"] = _error_info(exc)
        if tripped:
            status = "delegated"
            fields["delegated_to"] = tripped[0]
    runtime_warnings: list[WarningInfo] = [
        {"category": w.category.__name__, "message": str(w.message)[:200]}
        for w in caught if issubclass(w.category, RuntimeWarning)
    ][:5]
    if status == "ok":
        try:
            fields["value"] = plain.to_plain(raw)
        except Exception as exc:  # noqa: BLE001
            status = "error"
            fields["error"] = {"type": "UnreadableResult", "mro": [], "message": str(exc)[:200]}
    after = [_snapshot(a) for a in args], {k: _snapshot(v) for k, v in kwargs.items()}
    mutated = [
        f"argument {i + 1}" for i, (b, a) in enumerate(zip(before[0], after[0])) if b is not None and b != a
    ] + [f"argument {k!r}" for k in before[1] if before[1][k] is not None and before[1][k] != after[1][k]]
    return outcome(status, warnings=runtime_warnings, mutated=mutated, **fields)


def collect(check: Check, obj: Any, cases: Sequence[Case], namespace: MutableMapping[str, Any] | None = None,
            isolation: Mapping[str, Any] | None = None, trap: bool = True,
            allow_reference: bool = False) -> list[Outcome]:
    """Outcomes of `obj` on every case.

    With `trap` (always, for a student's answer), an answer that *is* a forbidden routine or the
    course's reference (the same object, a partial, copy, subclass or thin wrapper of it) is not
    run: every case records the delegation. `allow_reference` lets the course's tests hand the
    reference itself to the full check.
    """
    forbidden = check.forbidden_with_reference() if trap else []
    if trap and not allow_reference:
        label = delegation_by_identity(obj, forbidden)
        if label is not None:
            return [outcome("delegated", delegated_to=label, identity=True) for _ in cases]
    return [collect_one(check, obj, case, namespace, isolation, forbidden) for case in cases]


def missing(cases: Sequence[Case], note: str | None) -> list[Outcome]:
    """Outcomes of a program that does not define the object under test (`note`: why, if known)."""
    return [outcome("missing", note=note) for _ in cases]


@contextmanager
def python_random_for_this_thread_only() -> Iterator[None]:
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
def quiet() -> Iterator[None]:
    """Warnings and NumPy floating-point errors ignored (running a reference or a declared wrong answer)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            yield


# ------------------------------------------------------------------ the process the code under test shares

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
