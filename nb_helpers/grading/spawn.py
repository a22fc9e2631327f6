"""Start sandboxed processes from one long-lived thread.

bubblewrap's `--die-with-parent` ties a sandbox to the *thread* that started it (it uses
`PR_SET_PDEATHSIG`): a sandbox started from a short-lived thread (a Dask task thread, an event-loop
runner) is killed as soon as that thread ends, mid-grading. Starting every sandbox from one thread
that lives as long as the process keeps "the sandbox dies with the grading process" without that trap.
"""

from __future__ import annotations

import queue
import threading
from typing import Any, Callable, TypeVar

T = TypeVar("T")

_requests: queue.Queue[tuple[Callable[[], Any], list, threading.Event]] = queue.Queue()
_thread: threading.Thread | None = None
_lock = threading.Lock()


def _serve() -> None:
    while True:
        func, box, done = _requests.get()
        try:
            box.append((True, func()))
        except BaseException as exc:  # noqa: BLE001 - handed back to the caller
            box.append((False, exc))
        done.set()


def in_spawner_thread(func: Callable[[], T]) -> T:
    """Run `func` (which starts a process) in the process-lifetime spawner thread; return its result."""
    global _thread
    if threading.current_thread() is _thread:
        return func()
    with _lock:
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(target=_serve, name="nb-helpers-spawner", daemon=True)
            _thread.start()
    box: list = []
    done = threading.Event()
    _requests.put((func, box, done))
    done.wait()
    ok, value = box[0]
    if ok:
        return value
    raise value
