"""Delegation traps: while a student's function runs, forbidden callables raise and are recorded.

Detection is best effort by design (SPEC §4.1): the trap replaces the module attributes
(`numpy.tanh`, `torch.Tensor.tanh`, ...) and any name in the student's namespace bound to the same
object, then restores everything. A determined student can get around it; the point is to catch
the honest mistake of calling the library instead of writing the formula.
"""

from __future__ import annotations

import importlib
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator, MutableMapping

_MISSING = object()


class DelegationError(RuntimeError):
    """Raised when a function under check calls a library routine it was asked to implement."""


def resolve(dotted: str) -> tuple[Any, str] | None:
    """Split 'pkg.mod.Class.attr' into (owner object, attribute name); None if unavailable."""
    parts = dotted.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            owner: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for name in parts[cut:-1]:
                owner = getattr(owner, name)
            getattr(owner, parts[-1])
        except AttributeError:
            return None
        return owner, parts[-1]
    return None


def _make_trap(label: str, tripped: list[str]) -> Callable[..., Any]:
    def trap(*args: Any, **kwargs: Any) -> Any:
        tripped.append(label)
        raise DelegationError(f"{label} is not allowed in this exercise")

    trap.__name__ = label.rsplit(".", 1)[-1]
    return trap


@contextmanager
def trapped(
    forbidden: Iterable[str],
    namespace: MutableMapping[str, Any] | None = None,
    extra: Iterable[tuple[str, Any]] = (),
) -> Iterator[list[str]]:
    """Replace each forbidden callable by a trap; yields the list of labels that were called.

    `extra` holds (label, object) pairs that are trapped only where the namespace binds them
    (e.g. the course's own reference implementation of the exercise).
    """
    tripped: list[str] = []
    undo: list[Callable[[], None]] = []
    originals: list[tuple[str, Any]] = list(extra)
    try:
        for dotted in forbidden:
            found = resolve(dotted)
            if found is None:
                continue
            owner, attr = found
            original = owner.__dict__.get(attr, _MISSING) if hasattr(owner, "__dict__") else _MISSING
            current = getattr(owner, attr)
            originals.append((dotted, current))
            try:
                setattr(owner, attr, _make_trap(dotted, tripped))
            except (AttributeError, TypeError):
                continue
            if original is _MISSING:
                undo.append(lambda o=owner, a=attr: delattr(o, a))
            else:
                undo.append(lambda o=owner, a=attr, v=original: setattr(o, a, v))
        if namespace is not None:
            for label, obj in originals:
                for name, value in list(namespace.items()):
                    if value is obj and not name.startswith("__"):
                        namespace[name] = _make_trap(label, tripped)
                        undo.append(lambda n=name, v=value: namespace.__setitem__(n, v))
        yield tripped
    finally:
        for restore in reversed(undo):
            restore()


@contextmanager
def bound(namespace: MutableMapping[str, Any] | None, bindings: dict[str, Any]) -> Iterator[None]:
    """Temporarily bind names in `namespace` (isolation: other graded names -> references)."""
    if not namespace or not bindings:
        yield
        return
    saved = {name: namespace.get(name, _MISSING) for name in bindings if name in namespace}
    try:
        for name in saved:
            namespace[name] = bindings[name]
        yield
    finally:
        for name, value in saved.items():
            if value is _MISSING:
                namespace.pop(name, None)
            else:
                namespace[name] = value
