"""nbgrader's Execute preprocessor, made to survive and contain the student's kernel.

`ResilientExecute` keeps a submission whose kernel dies (`os._exit`), hangs or runs past the
notebook's time limit: stock nbgrader drops the whole submission then. The cells that ran keep their
outputs, a note at the top says where and why execution stopped, and `VerdictPreprocessor` marks every
check cell from that point on as failed with that reason; the checks above it are graded as usual.
It also caps each cell's outputs while they arrive, so an output flood never piles up in memory.

`SandboxedExecute` also starts the kernel inside bubblewrap (see `sandbox.py`): no network, no view
of the course (solutions, gradebook, other submissions, exchange), write access only to the
submission's own folder and a private /tmp, an address-space limit, and nothing left running after.
It talks to the kernel over the `ipc` transport (socket files in a folder both sides see) and
interrupts it with a message, since signals do not cross into the sandbox's session.
"""

from __future__ import annotations

import asyncio
import math
import os
import shutil
import sys
import tempfile
import time
from queue import Empty
from typing import Any

from jupyter_client.manager import AsyncKernelManager
from nbformat.v4 import new_markdown_cell, new_output
from traitlets import Enum, Float, Integer, List, Unicode

from nbgrader.preprocessors import Execute

from ..compat import wrap_get_msg
from .sandbox import SandboxSettings
from .spawn import in_spawner_thread

NOTE_ID = "grading-note-kernel"
RESOURCE_KEY = "nb_helpers"  # resources[RESOURCE_KEY]["kernel_stopped"] = {"index": ..., "reason": ...}


class NotebookTimeLimit(Exception):
    """The notebook ran longer than `ResilientExecute.notebook_timeout` allows."""


def kernel_stopped(resources: dict) -> dict | None:
    """Where and why the student's kernel stopped early in this conversion, if it did."""
    return resources.get(RESOURCE_KEY, {}).get("kernel_stopped")


def _output_size(msg: dict) -> int:
    content = msg.get("content", {})
    size = len(str(content.get("text", ""))) + len(str(content.get("evalue", "")))
    size += sum(len(str(v)) for v in (content.get("data") or {}).values())
    size += sum(len(str(line)) for line in content.get("traceback") or [])
    return size


def _polled_in_slices(get_msg: Any, step: float = 1.0) -> Any:
    """`get_msg(timeout)` that waits in slices of `step` seconds. A single long wait on a ZeroMQ socket
    can miss its wake-up after widget messages and last the whole cell timeout although the reply
    is there (jupyter/nbclient#312); each new wait looks at the socket afresh."""

    async def get_msg_in_slices(timeout: float | None = None) -> Any:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            wait = step if deadline is None else max(0.0, min(step, deadline - time.monotonic()))
            try:
                return await get_msg(timeout=wait)
            except Empty:
                if deadline is not None and time.monotonic() >= deadline:
                    raise

    return get_msg_in_slices


def poll_replies_in_slices(kc: Any) -> Any:
    """Make a kernel client read its shell and iopub channels in 1 s slices (see `_polled_in_slices`)."""
    return wrap_get_msg(kc, _polled_in_slices)


class ResilientExecute(Execute):
    """`Execute` that records a dead, hung or overlong kernel instead of failing the submission."""

    notebook_timeout = Float(600.0, help="Seconds the whole notebook may run; the cells after that point are "
                                         "not run and their checks fail with the reason. 0 disables.").tag(config=True)
    max_cell_output_bytes = Integer(2_000_000, help="Output a cell may produce; the rest is dropped as it "
                                                    "arrives, with a note. 0 disables.").tag(config=True)
    # The kernel's work is done once its last cell ran: stopping it at once saves the 1-5 s that a
    # graceful shutdown of a kernel that imported torch takes, per submission.
    shutdown_kernel = Enum(["graceful", "immediate"], default_value="immediate").tag(config=True)

    def preprocess(self, nb: Any, resources: Any, km: Any = None) -> tuple[Any, Any]:
        self._deadline = time.monotonic() + self.notebook_timeout if self.notebook_timeout > 0 else math.inf
        self._running: int | None = None
        self._kernel_up = False
        self._output_bytes: dict[int, int] = {}
        try:
            return super().preprocess(nb, resources, km=km)
        except Exception as exc:  # noqa: BLE001 - DeadKernelError, timeouts, the notebook time limit...
            if not self._kernel_up:
                raise  # the kernel never started: infrastructure, not the student's doing
            return self._record_stop(nb, resources, exc)

    def _record_stop(self, nb: Any, resources: Any, exc: Exception) -> tuple[Any, Any]:
        index = self._running if self._running is not None else len(nb.cells)
        if isinstance(exc, NotebookTimeLimit):
            reason = str(exc)
        else:
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else "no details"
            reason = f"the kernel stopped ({type(exc).__name__}: {detail[:200]})"
        where = f"cell {index + 1}" if index < len(nb.cells) else "the end of the notebook"
        self.log.warning("%s: %s in %s; grading what ran", resources.get("nbgrader", {}).get("student"), reason, where)
        note = new_markdown_cell(
            f"**Grading note.** Execution stopped in {where}: {reason}. The checks above that point were graded "
            "as usual; the exercises from that point on lost their points, with this reason in their check cells.")
        note.id = NOTE_ID
        nb.cells.insert(0, note)
        resources.setdefault(RESOURCE_KEY, {})["kernel_stopped"] = {"index": index + 1, "reason": reason}
        return nb, resources

    def preprocess_cell(self, cell: Any, resources: Any, index: int) -> tuple[Any, Any]:
        self._kernel_up = True
        self._running = index
        if time.monotonic() >= self._deadline:
            raise NotebookTimeLimit(f"the notebook's time limit ({self.notebook_timeout:g} s) was reached")
        result = super().preprocess_cell(cell, resources, index)
        if time.monotonic() >= self._deadline and any(o.get("ename") == "CellTimeoutError" for o in cell.get("outputs", [])):
            raise NotebookTimeLimit(f"the notebook's time limit ({self.notebook_timeout:g} s) was reached")
        self._running = index + 1
        return result

    def start_new_kernel_client(self) -> Any:
        return poll_replies_in_slices(super().start_new_kernel_client())

    def _get_timeout(self, cell: Any) -> int | None:
        """Each cell's limit, shortened so that no cell runs past the notebook's deadline."""
        per_cell = super()._get_timeout(cell)
        remaining = self._deadline - time.monotonic()
        if math.isinf(remaining):
            return per_cell
        return max(1, int(math.ceil(min(per_cell or remaining, remaining))))

    def output(self, outs: list, msg: dict, display_id: Any, cell_index: int) -> Any:
        if self.max_cell_output_bytes <= 0 or msg.get("msg_type") not in {"stream", "display_data", "execute_result", "error"}:
            return super().output(outs, msg, display_id, cell_index)
        used = self._output_bytes.get(cell_index, 0)
        if used > self.max_cell_output_bytes:
            return None  # already capped: drop without keeping anything
        used += _output_size(msg)
        self._output_bytes[cell_index] = used
        if used > self.max_cell_output_bytes:
            note = new_output("stream", name="stderr",
                              text=f"\n[grading: this cell's output passed {self.max_cell_output_bytes:,} bytes; the rest was dropped]\n")
            outs.append(note)
            return note
        return super().output(outs, msg, display_id, cell_index)


class SandboxKernelManager(AsyncKernelManager):
    """A kernel manager that starts the kernel command behind a prefix (bubblewrap, memory limit)."""

    command_prefix = List(Unicode(), help="Command line the kernel command is appended to.")

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        return [*self.command_prefix, *super().format_kernel_cmd(extra_arguments)]

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        """Start the kernel from the spawner thread: the sandbox dies with this process, not with
        whichever (possibly short-lived) thread happened to start it (see `spawn.py`)."""
        assert self.provisioner is not None
        launch = self.provisioner.launch_kernel
        connection_info = in_spawner_thread(lambda: asyncio.run(launch(kernel_cmd, **kw)))
        assert self.provisioner.has_process
        self._reconcile_connection_info(connection_info)


class SandboxedExecute(ResilientExecute, SandboxSettings):
    """`ResilientExecute` whose kernel runs in the grading sandbox with a memory cap (`SandboxSettings`:
    `sandbox`, `hidden_paths`, `memory_limit_mb`)."""

    baseline_memory_mb = Integer(1024, help="Address space of a kernel that has imported the course's libraries "
                                            "(torch, NumPy, scikit-learn, matplotlib).").tag(config=True)

    def preprocess(self, nb: Any, resources: Any, km: Any = None) -> tuple[Any, Any]:
        self._rundir = tempfile.mkdtemp(prefix="nb-helpers-kernel-")
        try:
            return super().preprocess(nb, resources, km=km)
        finally:
            shutil.rmtree(self._rundir, ignore_errors=True)

    def _prefix(self) -> list[str]:
        resources = getattr(self, "resources", None) or {}
        workdir = resources.get("metadata", {}).get("path") or os.getcwd()
        db_url = str(resources.get("nbgrader", {}).get("db_url", ""))
        # the kernel writes to the submission's folder and to its connection folder
        prefix = self.sandbox_command(db_url, writable=[workdir, self._rundir], chdir=os.path.abspath(workdir))
        if self.memory_limit_mb > 0:
            prefix += [sys.executable, "-m", "nb_helpers.grading.rlimit",
                       str(self.baseline_memory_mb + self.memory_limit_mb), "--"]
        return prefix

    def create_kernel_manager(self) -> AsyncKernelManager:
        kernel_name = self.kernel_name or self.nb.metadata.get("kernelspec", {}).get("name") or "python3"
        self.km = SandboxKernelManager(
            kernel_name=kernel_name, config=self.config, command_prefix=self._prefix(),
            transport="ipc", ip=os.path.join(self._rundir, "kipc"),
            connection_file=os.path.join(self._rundir, "kernel.json"))
        # Signals do not reach a kernel in its own session: interrupt it by message instead.
        self.km.kernel_spec.interrupt_mode = "message"
        env = dict(self.km.kernel_spec.env or {})
        env.update({"MALLOC_ARENA_MAX": "2"})
        self.km.kernel_spec.env = env
        return self.km
