"""A fork server that runs students' solution code, one forked child per exercise.

The server imports NumPy, torch and the checks once (about 2-3 s), then forks a child for each
request (milliseconds). The child runs the lesson's setup cell and the student's solution cells,
calls the student's object on the cases of the check and writes the outcomes as plain JSON to a
pipe; the server relays them. The server never judges: the trusted grading process does.

The course's own setup cell (exactly the text `nb_helpers.authoring.setup_cell_source()` makes,
which nbgrader restores in every submission because the cell is locked) runs once, in the server:
a child whose request carries that text starts from the module it left behind instead of running
it again (about 30 ms per exercise). Any other setup text runs in the child, like a solution cell.

Protocol (one JSON object per line on stdin / stdout):
  ready    {"status": "ready", "pid", "setup": "prepared" or why the setup cell could not be prepared}
           (once, when the server has started)
  request  {"exercise", "seed", "setup", "cells", "cwd", "timeout", "cell_timeout", "memory_mb"}
  reply    {"status": "ok", "payload": "<JSON outcomes>"} or {"status": "timeout" | "crashed" |
           "oversize" | "unknown", "detail": "..."}
"""

from __future__ import annotations

import json
import os
import random
import resource
import select
import signal
import sys
import time
import types
from typing import Any

MAX_PAYLOAD = 32 * 2**20


def _vm_size() -> int:
    """This process's current address-space size in bytes (Linux)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[0]) * resource.getpagesize()
    except OSError:  # pragma: no cover - not Linux
        return 0


#: What the course's setup cell left behind in the server: (setup text, module, the state of
#: Python's `random`). Each child is a forked copy, so what a child's cells do to the module never
#: reaches the server or other children. Python reseeds `random` in every forked child (os.fork's
#: at-fork hook), so a child puts back the state the setup cell's seeding left; NumPy's and
#: torch's generators come through the fork unchanged.
_prepared: tuple[str, types.ModuleType, Any] | None = None


def _new_main_module() -> types.ModuleType:
    """An empty `__main__` as the kernel gives a notebook (magics and shell escapes do nothing)."""
    import builtins

    from .cells import InertIPython

    module = types.ModuleType("__main__")
    module.__dict__.update({"__builtins__": builtins, "get_ipython": InertIPython})
    return module


def prepare_setup() -> str:
    """Run the course's setup cell once in the server (see the module docstring); "prepared", or
    why not (children then run it themselves). Its printed line is dropped: the server's stdout
    carries the protocol."""
    global _prepared
    import contextlib
    import io

    from ..authoring import setup_cell_source
    from .cells import to_python

    source, module = setup_cell_source(), _new_main_module()
    previous = sys.modules.get("__main__")
    sys.modules["__main__"] = module
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(to_python(source), "<cell 0>", "exec"), module.__dict__)  # noqa: S102 - course code
    except Exception as exc:  # noqa: BLE001 - the server still works, only slower
        return f"{type(exc).__name__}: {exc}"
    finally:
        if previous is not None:
            sys.modules["__main__"] = previous
    _prepared = (source, module, random.getstate())
    return "prepared"


class CellTimeLimit(BaseException):
    """A solution cell ran past its time limit in the child (raised by SIGALRM)."""


def _interrupt_cell(signum: int, frame: Any) -> None:
    raise CellTimeLimit()


def _child(req: dict[str, Any], result_fd: int) -> None:
    """Runs in the forked child: execute the student's program, report outcomes, never return."""
    from ..checks import plain
    from ..checks.engine import REGISTRY, collect, lesson_references
    from .cells import to_python

    os.setsid()
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    memory = int(req.get("memory_mb", 2048)) * 2**20
    if memory > 0:
        limit = _vm_size() + memory
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    cpu = int(float(req.get("timeout", 20))) + 2
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    if req.get("cwd"):
        try:
            os.chdir(req["cwd"])
        except OSError:
            pass

    check = REGISTRY[req["exercise"]]
    setup = req.get("setup") or ""
    if _prepared is not None and setup == _prepared[0]:
        module, sources = _prepared[1], [None, *req.get("cells", [])]  # the setup cell has run
        random.setstate(_prepared[2])
    else:
        module, sources = _new_main_module(), [setup, *req.get("cells", [])]
    namespace = module.__dict__
    sys.modules["__main__"] = module
    sys.argv = ["notebook"]
    # Each cell runs under its own time limit, as the kernel interrupts a cell that runs too long:
    # an endless loop in one solution cell costs the exercises it defines, not the later ones.
    cell_budget = float(req.get("cell_timeout") or 0)
    signal.signal(signal.SIGALRM, _interrupt_cell)
    trouble = None
    for index, source in enumerate(sources):
        if source is None:
            continue
        try:
            code = compile(to_python(source), f"<cell {index}>", "exec")
            if cell_budget > 0:
                signal.setitimer(signal.ITIMER_REAL, cell_budget)
            exec(code, namespace)  # noqa: S102 - running the submission is the point (sandboxed child)
        except CellTimeLimit:
            trouble = trouble or f"a cell above it was interrupted after {cell_budget:g} s"
        except MemoryError:
            trouble = trouble or "a cell above it ran out of memory"
        except BaseException:  # noqa: BLE001 - a broken cell costs only what it fails to define
            pass
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    cases = check.all_cases(int(req["seed"]))
    obj = namespace.get(check.object_name)
    if obj is None:
        outcomes = [{"status": "missing", "warnings": [], "mutated": [], "note": trouble} for _ in cases]
    else:
        isolation = lesson_references(check.lesson, except_id=check.id)
        outcomes = collect(check, obj, cases, namespace, isolation)
    data = plain.encode(outcomes).encode()
    view = memoryview(data)
    while view:
        written = os.write(result_fd, view)
        view = view[written:]
    os.close(result_fd)


def _kill_group(pid: int) -> None:
    for kill in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
        try:
            kill()
        except (ProcessLookupError, PermissionError):
            pass


def handle(req: dict[str, Any]) -> dict[str, Any]:
    from ..checks.engine import REGISTRY

    if req.get("exercise") not in REGISTRY:
        return {"status": "unknown", "detail": f"no check named {req.get('exercise')!r}"}
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        code = 0
        try:
            os.close(read_fd)
            _child(req, write_fd)
        except BaseException:  # noqa: BLE001
            code = 70
        finally:
            os._exit(code)
    os.close(write_fd)
    deadline = time.monotonic() + float(req.get("timeout", 20))
    chunks: list[bytes] = []
    total, status = 0, "ok"
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([read_fd], [], [], remaining)[0]:
                status = "timeout"
                break
            chunk = os.read(read_fd, 1 << 16)
            if not chunk:
                break
            total += len(chunk)
            if total > MAX_PAYLOAD:
                status = "oversize"
                break
            chunks.append(chunk)
    finally:
        os.close(read_fd)
        _kill_group(pid)  # also ends anything the student's code left running
        _, wait_status = os.waitpid(pid, 0)
    if status != "ok":
        return {"status": status, "detail": f"limit {req.get('timeout')} s" if status == "timeout" else "too much data"}
    payload = b"".join(chunks)
    if not payload:
        if os.WIFSIGNALED(wait_status) and os.WTERMSIG(wait_status) == signal.SIGXCPU:
            return {"status": "timeout", "detail": "CPU time limit"}
        detail = (f"signal {os.WTERMSIG(wait_status)}" if os.WIFSIGNALED(wait_status)
                  else f"exit status {os.WEXITSTATUS(wait_status)}")
        return {"status": "crashed", "detail": detail}
    return {"status": "ok", "payload": payload.decode("utf-8", "replace")}


def serve(stdin: Any = None, stdout: Any = None) -> None:
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    # Warm up: everything a lesson's setup cell and a typical answer need is imported once, here,
    # so that each forked child starts in milliseconds.
    os.environ["MPLBACKEND"] = "Agg"
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot  # noqa: F401
    import numpy  # noqa: F401
    import scipy.special  # noqa: F401
    import sklearn.datasets  # noqa: F401
    import sklearn.linear_model  # noqa: F401
    import sklearn.metrics  # noqa: F401
    import sklearn.model_selection  # noqa: F401
    import sklearn.pipeline  # noqa: F401
    import sklearn.preprocessing  # noqa: F401
    import torch  # noqa: F401
    import torch._dynamo  # noqa: F401 - torch optimizers import it at their first step (about 2 s)

    from .. import __version__, checks  # noqa: F401 - registers every lesson's checks
    from ..env import prepare_lesson
    from .cells import to_python

    prepare_lesson(__version__, quiet=True)  # threads, deterministic algorithms, style: as the setup cell
    to_python("x = 1\n")
    setup = prepare_setup()  # last: nothing after it may draw random numbers (children inherit the generators)
    stdout.write(json.dumps({"status": "ready", "pid": os.getpid(), "setup": setup}) + "\n")
    stdout.flush()
    for line in stdin:
        if not line.strip():
            continue
        try:
            reply = handle(json.loads(line))
        except Exception as exc:  # noqa: BLE001 - report, keep serving
            reply = {"status": "error", "detail": f"{type(exc).__name__}: {exc}"}
        stdout.write(json.dumps(reply) + "\n")
        stdout.flush()


def main() -> None:
    serve()


if __name__ == "__main__":
    main()
