"""A fork server that runs students' solution code, one forked child per exercise.

The server imports NumPy, torch, scikit-learn and the checks once (several seconds), then forks a
child for each request (tens of milliseconds). The child runs the lesson's setup cell and the
student's solution cells (compiled as the kernel compiles them: `cells.CellCompiler`), calls the
student's object on the cases of the check and writes the outcomes as plain JSON to a pipe; the
server relays them. The server never judges: the trusted grading process does.

The course's own setup cell (exactly the text `nb_helpers.conventions.setup_cell_source()` makes,
which nbgrader restores in every submission because the cell is locked) runs once, in the server:
a child whose request carries that text starts from the module it left behind instead of running
it again (about 30 ms per exercise). Any other setup text runs in the child, like a solution cell.

Several grading processes on one machine can share one server (`nb-helpers-grade` starts one for
its local workers): started with `--listen-fd N`, it also accepts connections on that listening
unix socket, which its owner created and passed on (so it lies outside the sandbox, where students'
code cannot reach it). Requests from every connection run at the same time, each in its own child.

Protocol (one JSON object per line, on stdin / stdout and on each connection):
  ready    {"status": "ready", "pid", "setup": "prepared" or why the setup cell could not be prepared}
           (once, when the server has started)
  request  {"exercise", "seed", "setup", "cells", "cwd", "timeout", "cell_timeout", "memory_mb"}
  reply    {"status": "ok", "payload": "<JSON outcomes>"} or {"status": "timeout" | "crashed" |
           "oversize" | "unknown", "detail": "..."}
The payload is one `nb_helpers.checks.outcome.Outcome` record per case (`outcome.to_json`), made by
`nb_helpers.checks.collection`; the child never imports the judge (`nb_helpers.checks.judgement`).
"""

from __future__ import annotations

import json
import os
import random
import resource
import selectors
import signal
import socket
import sys
import time
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .cells import CellCompiler

MAX_PAYLOAD = 32 * 2**20


def _vm_size() -> int:
    """This process's current address-space size in bytes (Linux)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[0]) * resource.getpagesize()
    except OSError:  # pragma: no cover - not Linux
        return 0


#: What the course's setup cell left behind in the server: (setup text, module, the state of
#: Python's `random`, the compiler that compiled it and goes on with the student's cells). Each
#: child is a forked copy, so what a child's cells do to the module or the compiler never reaches
#: the server or other children. Python reseeds `random` in every forked child (os.fork's at-fork
#: hook), so a child puts back the state the setup cell's seeding left; NumPy's and torch's
#: generators come through the fork unchanged.
_prepared: tuple[str, types.ModuleType, Any, CellCompiler] | None = None


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

    from ..conventions import setup_cell_source
    from .cells import CellCompiler

    source, module, compiler = setup_cell_source(), _new_main_module(), CellCompiler()
    previous = sys.modules.get("__main__")
    sys.modules["__main__"] = module
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compiler(source, "<cell 0>"), module.__dict__)  # noqa: S102 - course code
    except Exception as exc:  # noqa: BLE001 - the server still works, only slower
        return f"{type(exc).__name__}: {exc}"
    finally:
        if previous is not None:
            sys.modules["__main__"] = previous
    _prepared = (source, module, random.getstate(), compiler)
    return "prepared"


class CellTimeLimit(BaseException):
    """A solution cell ran past its time limit in the child (raised by SIGALRM)."""


def _interrupt_cell(signum: int, frame: Any) -> None:
    raise CellTimeLimit()


def _child(req: dict[str, Any], result_fd: int) -> None:
    """Runs in the forked child: execute the student's program, report outcomes, never return."""
    from ..checks import outcome
    from ..checks.collection import collect, missing
    from ..checks.declaration import REGISTRY, lesson_references
    from .cells import CellCompiler

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
        compiler = _prepared[3]
    else:
        module, sources, compiler = _new_main_module(), [setup, *req.get("cells", [])], CellCompiler()
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
            code = compiler(source, f"<cell {index}>")
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
        outcomes = missing(cases, trouble)
    else:
        isolation = lesson_references(check.lesson, except_id=check.id)
        outcomes = collect(check, obj, cases, namespace, isolation)
    data = outcome.to_json(outcomes).encode()
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


class _Child:
    """A forked child at work on one request: its result pipe, its deadline, what it sent so far."""

    def __init__(self, req: dict[str, Any], pid: int, fd: int, reply_to: Any) -> None:
        self.req, self.pid, self.fd, self.reply_to = req, pid, fd, reply_to
        self.deadline = time.monotonic() + float(req.get("timeout", 20))
        self.chunks: list[bytes] = []
        self.total = 0

    def read(self) -> str | None:
        """Read what the pipe holds: None while more may come, else "ok" (end of data) or "oversize"."""
        chunk = os.read(self.fd, 1 << 16)
        if not chunk:
            return "ok"
        self.total += len(chunk)
        if self.total > MAX_PAYLOAD:
            return "oversize"
        self.chunks.append(chunk)
        return None

    def finish(self, status: str, zombies: list[int]) -> dict[str, Any]:
        """Stop the child and everything it started; the reply. A child that delivered its outcomes is
        reaped later (`zombies`): tearing down a process that holds torch takes tens of milliseconds,
        which the reply need not wait for."""
        os.close(self.fd)
        _kill_group(self.pid)
        payload = b"".join(self.chunks)
        if status == "ok" and payload:
            zombies.append(self.pid)
            return {"status": "ok", "payload": payload.decode("utf-8", "replace")}
        _, wait_status = os.waitpid(self.pid, 0)
        if status != "ok":
            timeout = self.req.get("timeout")
            return {"status": status, "detail": f"limit {timeout} s" if status == "timeout" else "too much data"}
        if os.WIFSIGNALED(wait_status) and os.WTERMSIG(wait_status) == signal.SIGXCPU:
            return {"status": "timeout", "detail": "CPU time limit"}
        detail = (f"signal {os.WTERMSIG(wait_status)}" if os.WIFSIGNALED(wait_status)
                  else f"exit status {os.WEXITSTATUS(wait_status)}")
        return {"status": "crashed", "detail": detail}


def start_child(req: dict[str, Any], reply_to: Any = None) -> _Child | dict[str, Any]:
    """Fork a child for the request (its `_Child`), or the reply at once when there is nothing to run.
    The child keeps only its result pipe: the server's other descriptors (its clients' connections,
    the listening socket) are closed in it, so students' code can neither read nor answer them."""
    from ..checks.declaration import REGISTRY

    if req.get("exercise") not in REGISTRY:
        return {"status": "unknown", "detail": f"no check named {req.get('exercise')!r}"}
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        code = 0
        try:
            os.close(read_fd)
            os.closerange(3, write_fd)
            os.closerange(write_fd + 1, _max_fd())
            _child(req, write_fd)
        except BaseException:  # noqa: BLE001
            code = 70
        finally:
            os._exit(code)
    os.close(write_fd)
    return _Child(req, pid, read_fd, reply_to)


def handle(req: dict[str, Any]) -> dict[str, Any]:
    """Run one request in a child of this process and wait for its reply (the server's work for one
    request, without a server: for tests and one-off use)."""
    started = start_child(req)
    if isinstance(started, dict):
        return started
    zombies: list[int] = []
    with selectors.DefaultSelector() as sel:
        sel.register(started.fd, selectors.EVENT_READ)
        while True:
            remaining = started.deadline - time.monotonic()
            if remaining <= 0 or not sel.select(remaining):
                status = "timeout"
                break
            status = started.read()
            if status:
                break
    reply = started.finish(status, zombies)
    for pid in zombies:
        os.waitpid(pid, 0)
    return reply


def _max_fd() -> int:
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    return soft if 0 < soft < 1 << 20 else 1 << 16


def _reap(zombies: list[int]) -> None:
    """Collect the children that have exited since (without waiting for the others)."""
    for pid in list(zombies):
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            done = pid
        if done:
            zombies.remove(pid)


class _Connection:
    """One client: the owner on stdin/stdout, or a grading process connected to the listening socket."""

    def __init__(self, read_fd: int, write: Any, close: Any = None) -> None:
        self.read_fd, self.write, self.close, self.buffer = read_fd, write, close, b""

    def send(self, reply: dict[str, Any]) -> None:
        try:
            self.write((json.dumps(reply) + "\n").encode())
        except OSError:
            pass  # the client left; its reply is dropped


def serve(stdin_fd: int = 0, stdout_fd: int = 1, listener: socket.socket | None = None) -> None:
    """Import the libraries, report ready on stdout, then serve requests until stdin closes: those of
    the owner (stdin/stdout) and, with `listener`, those of every process that connects to it. Each
    request runs in its own child, and children of different requests run at the same time."""
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
    from .frozen import freeze_imports

    prepare_lesson(__version__, quiet=True)  # threads, deterministic algorithms, style: as the setup cell
    to_python("%matplotlib inline\n")  # IPython's transformer, for the cells that need it
    setup = prepare_setup()  # last: nothing after it may draw random numbers (children inherit the generators)
    # the libraries and the setup cell's module, frozen before any fork: a collection in a child then
    # leaves their pages shared with the server (lesson 03's 11 verdicts: ~25 → ~21 ms each)
    freeze_imports()

    def write_stdout(data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(stdout_fd, view):]

    owner = _Connection(stdin_fd, write_stdout)
    owner.send({"status": "ready", "pid": os.getpid(), "setup": setup})
    sel = selectors.DefaultSelector()
    sel.register(stdin_fd, selectors.EVENT_READ, owner)
    if listener is not None:
        listener.setblocking(False)
        sel.register(listener, selectors.EVENT_READ, listener)
    children: dict[int, _Child] = {}
    zombies: list[int] = []

    def reply(child: _Child, status: str) -> None:
        sel.unregister(child.fd)
        del children[child.fd]
        child.reply_to.send(child.finish(status, zombies))

    while True:
        wait = min((c.deadline for c in children.values()), default=None)
        events = sel.select(None if wait is None else max(0.0, wait - time.monotonic()))
        for key, _ in events:
            obj = key.data
            if obj is listener:
                try:
                    conn, _ = listener.accept()
                except OSError:
                    continue
                conn.setblocking(True)
                sel.register(conn, selectors.EVENT_READ, _Connection(conn.fileno(), conn.sendall, conn.close))
                continue
            if isinstance(obj, _Child):
                if children.get(obj.fd) is obj:
                    status = obj.read()
                    if status:
                        reply(obj, status)
                continue
            try:
                data = os.read(obj.read_fd, 1 << 20)
            except OSError:  # a connection reset by its client
                data = b""
            if not data:
                if obj is owner:
                    return  # the owner is gone: so is the server
                sel.unregister(obj.read_fd)
                obj.close()
                continue
            obj.buffer += data
            while b"\n" in obj.buffer:
                line, _, obj.buffer = obj.buffer.partition(b"\n")
                if not line.strip():
                    continue
                try:
                    started = start_child(json.loads(line), obj)
                except Exception as exc:  # noqa: BLE001 - report, keep serving
                    started = {"status": "error", "detail": f"{type(exc).__name__}: {exc}"}
                if isinstance(started, dict):
                    obj.send(started)
                else:
                    children[started.fd] = started
                    sel.register(started.fd, selectors.EVENT_READ, started)
        now = time.monotonic()
        for child in [c for c in children.values() if c.deadline <= now]:
            reply(child, "timeout")
        _reap(zombies)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    listener = None
    if args[:1] == ["--listen-fd"]:  # a listening unix socket the owner made and passed on
        listener = socket.socket(fileno=int(args[1]))
    serve(listener=listener)


if __name__ == "__main__":
    main()
