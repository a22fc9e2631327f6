"""Delegation traps: while a student's function runs, forbidden callables raise and are recorded.

Detection is best effort by design, not a security boundary: the trap replaces the module attributes
(`numpy.tanh`, `torch.Tensor.tanh`, ...) and any name in the student's namespace bound to the same
object, then restores everything. A determined student can get around it; the point is to catch
the honest mistake of calling the library instead of writing the formula.
"""

from __future__ import annotations

import functools
import importlib
import inspect
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


def _unwrapped(obj: Any) -> Iterator[tuple[Any, bool]]:
    """(item, direct) for `obj` and what it thinly wraps: partials, `functools.wraps` wrappers, bound
    methods, static/class methods (direct), and the objects a function's closure cells and default
    values hold (not direct: a helper kept there may be allowed)."""
    seen: set[int] = set()
    todo = [(obj, True)]
    while todo:
        item, direct = todo.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        yield item, direct
        if isinstance(item, functools.partial):
            todo.append((item.func, direct))
        if isinstance(item, (staticmethod, classmethod)) or inspect.ismethod(item):
            todo.append((item.__func__, direct))
        wrapped = inspect.getattr_static(item, "__wrapped__", None)
        if wrapped is not None and not isinstance(item, type):
            todo.append((wrapped, direct))
        if inspect.isfunction(item):
            todo += [(cell.cell_contents, False) for cell in item.__closure__ or () if _cell_filled(cell)]
            todo += [(v, False) for v in (*(item.__defaults__ or ()), *(item.__kwdefaults__ or {}).values())]


def _cell_filled(cell: Any) -> bool:
    try:
        cell.cell_contents
    except ValueError:
        return False
    return True


def _code_of(f: Any) -> Any:
    """The code object of a function under its decorators (a decorator's wrapper code is shared)."""
    try:
        return getattr(inspect.unwrap(f), "__code__", None)
    except ValueError:  # a cycle of __wrapped__
        return None


def _same_callable(candidate: Any, target: Any) -> bool:
    if candidate is target:
        return True
    code = _code_of(candidate)
    return code is not None and code is _code_of(target)  # e.g. a copy made with types.FunctionType


def _course_or_library(obj: Any, packages: tuple[str, ...]) -> str | None:
    """`module.qualname` of an object defined by one of `packages` (e.g. the course package), except
    the check declarations themselves (their known wrong answers stand in for students' code)."""
    module = getattr(obj, "__module__", None) or ""
    if not isinstance(module, str) or module.startswith(__package__ + ".") or module == __package__:
        return None
    if module.split(".")[0] in packages and callable(obj):
        return f"{module}.{getattr(obj, '__qualname__', getattr(obj, '__name__', type(obj).__name__))}"
    return None


def delegation_by_identity(obj: Any, forbidden: Iterable[str], packages: tuple[str, ...] = ("nb_helpers",)) -> str | None:
    """The label of the forbidden routine that `obj` *is* rather than implements, else None.

    Traps catch a function that calls a forbidden routine while it runs; they cannot catch an
    answer that is the routine itself: `sigmoid = nb_helpers.activations.sigmoid`, a
    `functools.partial` or copy of it, a lambda holding it in a default value or a closure, a
    subclass or instance of a reference class, or any object the course package itself defines.
    """
    targets = [(label, getattr(*found)) for label in forbidden if (found := resolve(label)) is not None]
    for item, direct in _unwrapped(obj):
        for label, target in targets:
            if _same_callable(item, target):
                return label
            if inspect.isclass(target) and (isinstance(item, target) or (inspect.isclass(item) and issubclass(item, target))):
                return label
            if inspect.isclass(target) and inspect.isclass(item):
                codes = [_code_of(f) for f in vars(item).values() if inspect.isfunction(f)]
                borrowed = {id(code) for code in codes if code is not None}   # by identity: two empty methods have equal code
                if any(id(_code_of(f)) in borrowed for f in vars(target).values() if inspect.isfunction(f)):
                    return label  # a class of one's own whose methods are the reference's
        if not direct:
            continue
        mro = inspect.getmro(item) if inspect.isclass(item) else (type(item),)
        for klass in (item, *mro):
            label = _course_or_library(klass, packages)
            if label is not None:
                return label
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
