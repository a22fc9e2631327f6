"""Every replacement of a third-party library's internal, in one module.

The feature modules hold what goes in (`grading.schema`, `grading.execute`, `grading.parallel.engines`,
`grading.parallel.scratch`); the functions here do the replacing (`env` calls one in the student's
kernel, so this module lies outside `grading`), and each says which internal it touches, why, and
which versions it was verified on (`VERIFIED`). The course's own subclasses also override or call a few
internals without replacing anything (`DEPENDS_ON` lists them). tests/test_compat.py checks that
every internal still has the shape relied on here and that the installed versions are among
those verified: after an upgrade it names what to re-check. pyproject.toml keeps nbgrader to 0.9.x.

Importing this module imports no third-party library.
"""

from __future__ import annotations

import contextlib
import types
from typing import Any, Callable, Iterator

#: The versions every patch below was verified on, per distribution.
VERIFIED: dict[str, tuple[str, ...]] = {
    "nbgrader": ("0.9.6",),
    "jupyter_client": ("8.10.0",),
    "nbclient": ("0.11.0",),
    "jsonschema": ("4.26.0",),
    "SQLAlchemy": ("2.1.9",),
    "torch": ("2.13.0",),
}

#: What to re-check when a distribution's version changes: the patches of this module, and the
#: course's classes that override internals (with the internals they rely on).
DEPENDS_ON: dict[str, tuple[str, ...]] = {
    "use_nbgrader_jsonschema": ("nbgrader", "jsonschema"),
    "nbgrader_create_engine": ("nbgrader", "SQLAlchemy"),
    "nbgrader_alembic_version": ("nbgrader",),
    "wrap_get_msg": ("jupyter_client", "nbclient"),
    "skip_iri_format_checks": ("jsonschema",),
    "inductor_deterministic": ("torch",),
    # overrides `_async_launch_kernel` and calls `_reconcile_connection_info` and `provisioner.launch_kernel`
    "execute.SandboxKernelManager": ("jupyter_client",),
    # overrides nbclient's `_get_timeout`, `output`, `start_new_kernel_client` and nbgrader's `Execute.preprocess`
    "execute.ResilientExecute": ("nbclient", "nbgrader"),
}


def unverified_versions() -> list[str]:
    """One message per installed distribution of `VERIFIED` whose version is not among those verified
    ([]: every patch runs on the versions it was verified on). A local version label (torch's
    `+cpu`, `+cu124`) does not count."""
    from importlib import metadata

    problems = []
    for dist, versions in VERIFIED.items():
        try:
            installed = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue  # nothing of it is patched where it is not installed
        if installed.split("+")[0] not in versions:
            recheck = ", ".join(name for name, dists in DEPENDS_ON.items() if dist in dists)
            problems.append(f"{dist} {installed} is not a version nb_helpers.compat was verified on "
                            f"({', '.join(versions)}): re-check {recheck} and update VERIFIED")
    return problems


# ------------------------------------------------------------------ nbgrader

def use_nbgrader_jsonschema(replacement: types.ModuleType) -> bool:
    """Make nbgrader's metadata validators see `replacement` as `jsonschema`.

    Touches `nbgrader.nbgraderformat.common.jsonschema`: the module name through which
    `BaseMetadataValidator.validate_cell` calls `jsonschema.validate(cell.metadata['nbgrader'], schema)`
    for every cell. Why: `jsonschema.validate` checks the schema itself on every call, nine tenths
    of the time (`schema.check_schemas_once`). Verified on nbgrader 0.9.6, jsonschema 4.26.0.

    Idempotent (an instance of `replacement`'s type already there counts as done); returns False,
    changing nothing, where nbgrader no longer holds `jsonschema` under that name."""
    import jsonschema
    from nbgrader.nbgraderformat import common

    if isinstance(common.jsonschema, type(replacement)):
        return True
    if common.jsonschema is not jsonschema:
        return False
    common.jsonschema = replacement
    return True


@contextlib.contextmanager
def _nbgrader_api_with(name: str, replacement: Any) -> Iterator[None]:
    """Within the block, `nbgrader.api.<name>` (which `Gradebook` looks up when it runs) is `replacement`."""
    import nbgrader.api

    original = getattr(nbgrader.api, name)
    setattr(nbgrader.api, name, replacement)
    try:
        yield
    finally:
        setattr(nbgrader.api, name, original)


def nbgrader_create_engine(replacement: Callable[..., Any]) -> contextlib.AbstractContextManager[None]:
    """Within the block, nbgrader's `Gradebook` makes its database engine with `replacement`.

    Touches `nbgrader.api.create_engine` (SQLAlchemy's, imported into `nbgrader.api`), which
    `Gradebook.__init__` calls as `create_engine(db_url, echo=False, future=True)`. Why: a new engine
    per `Gradebook` compiles every query again (`parallel.engines`). Verified on nbgrader 0.9.6,
    SQLAlchemy 2.1.9."""
    return _nbgrader_api_with("create_engine", replacement)


def nbgrader_alembic_version(replacement: Callable[[], str]) -> contextlib.AbstractContextManager[None]:
    """Within the block, a new gradebook asks `replacement()` for its schema revision.

    Touches `nbgrader.api.get_alembic_version`, which `Gradebook.__init__` calls (without arguments)
    for a database without tables, and which runs `alembic heads` in a new process (seconds). Why:
    the workers' scratch gradebooks are new each time (`parallel.scratch.in_process_alembic`).
    Verified on nbgrader 0.9.6."""
    return _nbgrader_api_with("get_alembic_version", replacement)


# ------------------------------------------------------------------ jupyter_client

def wrap_get_msg(kc: Any, wrap: Callable[[Any], Any]) -> Any:
    """Replace `get_msg` of a kernel client's shell and iopub channels by `wrap(get_msg)`; returns `kc`.

    Touches the `get_msg` of the client's `AsyncZMQSocketChannel`s (an instance attribute shadowing
    the method), which nbclient awaits as `get_msg(timeout=...)` for every reply and output. Why:
    one long wait on the socket can miss its wake-up (jupyter/nbclient#312; `execute._polled_in_slices`).
    Verified on jupyter_client 8.10.0, nbclient 0.11.0."""
    for channel in (kc.shell_channel, kc.iopub_channel):
        channel.get_msg = wrap(channel.get_msg)
    return kc


# ------------------------------------------------------------------ jsonschema

def skip_iri_format_checks() -> None:
    """Keep jsonschema from importing `rfc3987_syntax` in this process (call it before jsonschema is
    imported).

    Touches `sys.modules["rfc3987_syntax"]` (None: the import fails): `jsonschema._format` imports
    it inside `suppress(ImportError)` to define the `iri` format checks. Why: where it is installed
    it builds about 35 Lark parsers at import, 1.5-2 s of CPU in every process that reads a
    notebook, for formats no notebook schema uses (python-jsonschema/jsonschema#1428); jsonschema
    then leaves those formats unchecked. Verified on jsonschema 4.26.0."""
    import sys

    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]


# ------------------------------------------------------------------ torch

def inductor_deterministic() -> None:
    """Make Inductor (torch.compile's compiler) deterministic, as `torch.use_deterministic_algorithms`
    does, without importing it.

    Touches `torch._inductor.config.deterministic`, set directly where Inductor is loaded; elsewhere
    the environment variable `TORCHINDUCTOR_DETERMINISTIC`, from which that config takes the flag
    when it is first imported. Why: `torch.use_deterministic_algorithms` imports the compile stack
    (about 2 s) just to set it (`env.use_deterministic_algorithms`). Verified on torch 2.13.0."""
    import os
    import sys

    inductor = sys.modules.get("torch._inductor.config")
    if inductor is not None:
        inductor.deterministic = True
    else:
        os.environ["TORCHINDUCTOR_DETERMINISTIC"] = "1"
