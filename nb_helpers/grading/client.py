"""The trusted side's handle on the fork server: start it, send requests, read replies with a deadline."""

from __future__ import annotations

import atexit
import json
import os
import selectors
import subprocess
import sys
import threading
import time
from typing import Any, Sequence

from .spawn import in_spawner_thread


class ForkServerError(RuntimeError):
    """The fork server itself failed (infrastructure, not the student's code)."""


class ForkServerClient:
    """Owns one fork server process. `command_prefix` wraps it (e.g. in a sandbox)."""

    def __init__(self, command_prefix: Sequence[str] = (), env: dict[str, str] | None = None,
                 startup_timeout: float = 120.0) -> None:
        self.command_prefix = list(command_prefix)
        self.env = env
        self.startup_timeout = startup_timeout
        self.proc: subprocess.Popen[bytes] | None = None
        self.hello: dict[str, Any] = {}  # the running server's ready line
        self._buffer = b""
        self._lock = threading.RLock()  # one conversation at a time (a warm-up may run in a thread)

    def warm_up(self) -> None:
        """Start the server in a background thread, so that its imports overlap other work; the
        first request waits for it. A failure here is retried by that request."""

        def start_quietly() -> None:
            with self._lock:
                if self.proc is None or self.proc.poll() is not None:
                    try:
                        self.start()
                    except (ForkServerError, OSError, ValueError):
                        self.close()

        threading.Thread(target=start_quietly, name="nbh-forkserver-warm-up", daemon=True).start()

    def start(self) -> None:
        env = dict(os.environ if self.env is None else self.env)
        env.update({"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
                    "PYTHONUNBUFFERED": "1", "MALLOC_ARENA_MAX": "2", "MPLBACKEND": "Agg"})
        cmd = self.command_prefix + [sys.executable, "-m", "nb_helpers.grading.forkserver"]
        self.proc = in_spawner_thread(lambda: subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env))
        self._buffer = b""
        self.hello = self._read_line(self.startup_timeout)
        if self.hello.get("status") != "ready":
            raise ForkServerError(f"fork server did not start: {self.hello}")

    def _read_line(self, timeout: float) -> dict[str, Any]:
        assert self.proc is not None and self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise ForkServerError("fork server did not answer in time")
                if not sel.select(min(remaining, 1.0)):
                    if self.proc.poll() is not None:  # gone, even if another process still holds the pipe
                        raise ForkServerError(f"fork server exited (status {self.proc.poll()})")
                    continue
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    raise ForkServerError(f"fork server exited (status {self.proc.poll()})")
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return json.loads(line)

    def request(self, req: dict[str, Any]) -> dict[str, Any]:
        """Send one request; restarts a dead server once before giving up."""
        with self._lock:
            return self._request(req)

    def _request(self, req: dict[str, Any]) -> dict[str, Any]:
        for attempt in (1, 2):
            try:
                if self.proc is None or self.proc.poll() is not None:
                    self.start()
                assert self.proc is not None and self.proc.stdin is not None
                self.proc.stdin.write((json.dumps(req) + "\n").encode())
                self.proc.stdin.flush()
                return self._read_line(float(req.get("timeout", 20)) + 30.0)
            except (ForkServerError, BrokenPipeError, OSError, ValueError):
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        with self._lock:
            self._close()

    def _close(self) -> None:
        if self.proc is not None:
            try:
                self.proc.kill()
                self.proc.wait(timeout=10)
            except Exception:  # noqa: BLE001
                pass
            for stream in (self.proc.stdin, self.proc.stdout):
                try:
                    stream and stream.close()
                except Exception:  # noqa: BLE001
                    pass
        self.proc = None


_shared: dict[tuple, ForkServerClient] = {}


def shared_client(command_prefix: Sequence[str] = ()) -> ForkServerClient:
    """One fork server per grading process (reused across notebooks and students)."""
    key = tuple(command_prefix)
    if key not in _shared:
        _shared[key] = ForkServerClient(command_prefix)
    return _shared[key]


@atexit.register
def _close_all() -> None:
    for client in _shared.values():
        client._close()  # without the lock: a warm-up still starting must not delay the exit
