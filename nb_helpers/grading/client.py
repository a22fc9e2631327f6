"""The trusted side's handle on the fork server: start it, send requests, read replies with a deadline.

`ForkServerClient` owns a server and talks to it on its stdin/stdout. `start_shared_server` starts
one that several grading processes of this machine share, each through a `SocketForkServerClient`.
"""

from __future__ import annotations

import atexit
import json
import os
import selectors
import shutil
import socket
import subprocess
import sys
import threading
import time
from typing import Any, Sequence

from .spawn import in_spawner_thread


#: The server forks a child per exercise, and a fork and an exit cost CPU in proportion to the
#: pages the server maps: about 300 MB of heap and Python objects once torch and scikit-learn are
#: loaded. With Python's objects allocated by malloc (not in pymalloc's 1 MiB arenas) and glibc's
#: heap on transparent huge pages, most of that memory is mapped in 2 MiB pages, and a verdict costs
#: about a third less CPU (lesson 04, 22 verdicts: 1.16 → 0.85 s). glibc before 2.35 and other C
#: libraries ignore the tunable.
HUGE_PAGE_HEAP = "glibc.malloc.hugetlb=1"


class ForkServerError(RuntimeError):
    """The fork server itself failed (infrastructure, not the student's code)."""


class ForkServerClient:
    """Owns one fork server process. `command_prefix` wraps it (e.g. in a sandbox)."""

    def __init__(self, command_prefix: Sequence[str] = (), env: dict[str, str] | None = None,
                 startup_timeout: float = 120.0, listen_fd: int | None = None) -> None:
        self.command_prefix = list(command_prefix)
        self.env = env
        self.startup_timeout = startup_timeout
        self.listen_fd = listen_fd  # a listening socket the server also serves (see start_shared_server)
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
                    "PYTHONUNBUFFERED": "1", "MALLOC_ARENA_MAX": "2", "MPLBACKEND": "Agg",
                    "PYTHONMALLOC": "malloc"})  # see HUGE_PAGE_HEAP
        env["GLIBC_TUNABLES"] = ":".join(filter(None, [env.get("GLIBC_TUNABLES", ""), HUGE_PAGE_HEAP]))
        cmd = self.command_prefix + [sys.executable, "-m", "nb_helpers.grading.forkserver"]
        fds: tuple[int, ...] = ()
        if self.listen_fd is not None:
            cmd, fds = cmd + ["--listen-fd", str(self.listen_fd)], (self.listen_fd,)
        self.proc = in_spawner_thread(lambda: subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                                               env=env, pass_fds=fds))
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


class SocketForkServerClient:
    """A grading process's connection to a fork server another process owns (`start_shared_server`).
    Where that server cannot be reached (another machine, gone), it falls back, for good, to a
    server of its own: `fallback`."""

    def __init__(self, path: str, fallback: ForkServerClient, startup_timeout: float = 120.0) -> None:
        self.path, self.fallback, self.startup_timeout = path, fallback, startup_timeout
        self.sock: socket.socket | None = None
        self.replied = False  # a first reply can wait for the server's imports
        self.broken = False
        self._buffer = b""
        self._lock = threading.RLock()

    def warm_up(self) -> None:
        """Connect now; where the shared server is not there, start the fallback in the background."""
        with self._lock:
            if not self.broken:
                try:
                    self._connect()
                    return
                except OSError:
                    self._give_up()
        self.fallback.warm_up()

    def _connect(self) -> socket.socket:
        if self.sock is None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.connect(self.path)
            except OSError:
                sock.close()
                raise
            self.sock, self._buffer = sock, b""
        return self.sock

    def request(self, req: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            if not self.broken:
                try:
                    return self._request(req)
                except (ForkServerError, OSError, ValueError):
                    self._give_up()
        return self.fallback.request(req)

    def _request(self, req: dict[str, Any]) -> dict[str, Any]:
        sock = self._connect()
        sock.sendall((json.dumps(req) + "\n").encode())
        margin = 30.0 if self.replied else self.startup_timeout
        deadline = time.monotonic() + float(req.get("timeout", 20)) + margin
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ForkServerError("the shared fork server did not answer in time")
            sock.settimeout(remaining)
            chunk = sock.recv(1 << 20)
            if not chunk:
                raise ForkServerError("the shared fork server closed the connection")
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        self.replied = True
        return json.loads(line)

    def _give_up(self) -> None:
        self.broken = True
        self._close()

    def close(self) -> None:
        with self._lock:
            self._close()
        self.fallback.close()

    def _close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def start_shared_server(command_prefix: Sequence[str], socket_dir: str,
                        env: dict[str, str] | None = None) -> tuple[ForkServerClient, str]:
    """Start, in the background, a fork server that every grading process on this machine can use:
    (its owner's client, the path of its unix socket, for `SocketForkServerClient`). The socket lies
    in `socket_dir`, a private folder that `command_prefix` must hide from students' code (it is
    removed at exit); the server gets the listening socket itself, already bound, and `env` (by
    default this process's environment when the server starts). It stops when the owner's client is
    closed or its process exits. OSError where the socket cannot be made."""
    os.makedirs(socket_dir, mode=0o700, exist_ok=True)
    atexit.register(shutil.rmtree, socket_dir, True)
    path = os.path.join(socket_dir, "server.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(path)  # OSError where the path is too long for a unix socket (about 100 bytes)
        listener.listen(64)
    except OSError:
        listener.close()
        raise
    owner = ForkServerClient(command_prefix, env=env, listen_fd=listener.fileno())

    def start() -> None:
        try:
            with owner._lock:
                owner.start()  # the server holds the listening socket from here on
        except (ForkServerError, OSError, ValueError):
            owner.close()  # the clients, refused, fall back to servers of their own
        finally:
            listener.close()

    threading.Thread(target=start, name="nbh-shared-forkserver", daemon=True).start()
    return owner, path


_shared: dict[tuple, ForkServerClient | SocketForkServerClient] = {}
_shared_lock = threading.Lock()


def shared_client(command_prefix: Sequence[str] = (), server_socket: str = "") -> ForkServerClient | SocketForkServerClient:
    """One fork server per grading process (reused across notebooks and students), or, given the
    socket of a shared server (`start_shared_server`), one connection to it."""
    key = (tuple(command_prefix), server_socket)
    with _shared_lock:  # early verdicts ask from a thread of their own
        if key not in _shared:
            own = ForkServerClient(command_prefix)
            _shared[key] = SocketForkServerClient(server_socket, own) if server_socket else own
        return _shared[key]


def uses_shared_server(server_socket: str) -> bool:
    """Have this process's verdicts come from the shared server at `server_socket` so far?"""
    return any(isinstance(c, SocketForkServerClient) and c.path == server_socket and not c.broken
               for c in _shared.values())


@atexit.register
def _close_all() -> None:
    for client in _shared.values():
        client._close()  # without the lock: a warm-up still starting must not delay the exit
        if isinstance(client, SocketForkServerClient):
            client.fallback._close()
