"""nbgrader preprocessor that replaces every check cell's outputs with a verdict computed outside
the student's kernel (see `nb_helpers.grading`). Register it in `Autograde.autograde_preprocessors`
after `Execute` and before `SaveAutoGrades` (done in the repository's `nbgrader_config.py`)."""

from __future__ import annotations

import os
import tempfile
from typing import TYPE_CHECKING, Any

from nbformat.v4 import new_output
from traitlets import Bool, Float, Integer, List, Unicode

from nbgrader.preprocessors import NbGraderPreprocessor

from .cells import nbgrader_meta, student_program
from .client import ForkServerClient, ForkServerError, shared_client, start_shared_server
from .execute import kernel_stopped
from .sandbox import bwrap_usable, hidden_paths, sandbox_prefix, warn_unsandboxed

if TYPE_CHECKING:
    from ..checks.engine import Verdict

# The checks (NumPy, torch) are imported when the first notebook is graded, not with the
# configuration: every nbgrader command loads nbgrader_config.py, and most never grade.

CHECK_PREFIX = "test_"


def grading_seed(instructor_seed: str, assignment: str, student: str, exercise: str) -> int:
    """Seed of the hidden cases: the same on every regrade, different between students."""
    from ..checks.engine import case_seed

    return case_seed(instructor_seed, assignment, student, exercise)


def pass_output(verdict_line: str) -> Any:
    return new_output("stream", name="stdout", text=verdict_line + "\n")


def error_output(ename: str, evalue: str) -> Any:
    return new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


class VerdictPreprocessor(NbGraderPreprocessor):
    """Grade each check cell (grade_id `test_<exercise>`) from a verdict computed outside the kernel."""

    instructor_seed = Unicode(
        os.environ.get("NB_HELPERS_GRADING_SEED", "change-me"),
        help="Secret mixed into the hidden cases' seed (set it per course offering).",
    ).tag(config=True)
    check_timeout = Float(30.0, help="Seconds one exercise's check may run.").tag(config=True)
    memory_limit_mb = Integer(2048, help="Extra address space (MiB) a check may allocate; 0 disables.").tag(config=True)
    sandbox = Bool(True, help="Run students' code under bubblewrap (no network, course files hidden).").tag(config=True)
    hidden_paths = List(Unicode(), help="More directories students' code must not see (the course root, the "
                                        "gradebook's folder and the exchange are always hidden).").tag(config=True)
    cell_timeout = Float(10.0, help="Seconds each solution cell above the check may run before it is "
                                     "interrupted (as the kernel interrupts a cell that runs too long).").tag(config=True)
    server_socket = Unicode("", help="Unix socket of a fork server shared by the grading processes of this machine "
                                     "(`nb-helpers-grade` sets it for its local workers); empty: a server of its own. "
                                     "Where it cannot be reached, a server of its own is started.").tag(config=True)

    def _command_prefix(self, resources: dict) -> list[str]:
        if not self.sandbox:
            return []
        if not bwrap_usable():
            warn_unsandboxed(self.log)
            return []
        db_url = str(resources.get("nbgrader", {}).get("db_url", ""))
        return sandbox_prefix(hidden_paths(self.config, db_url, self.hidden_paths))

    def warm_up(self, db_url: str) -> None:
        """Start the fork server for a course whose gradebook is `db_url` in the background now,
        rather than at the first check (its imports then overlap the notebook's execution), or
        connect to the shared one."""
        shared_client(self._command_prefix({"nbgrader": {"db_url": db_url}}), self.server_socket).warm_up()

    def start_shared_server(self, db_url: str) -> tuple[ForkServerClient, str]:
        """Start, in the background, a fork server for every grading process of this machine (their
        `server_socket`), sandboxed as this preprocessor's own would be, its socket's folder hidden
        too: (its owner's client, the socket's path)."""
        folder = tempfile.mkdtemp(prefix="nbh-verdicts-")
        self.hidden_paths = [*self.hidden_paths, folder]
        return start_shared_server(self._command_prefix({"nbgrader": {"db_url": db_url}}), folder)

    def preprocess(self, nb: Any, resources: dict) -> tuple[Any, dict]:
        info = resources.get("nbgrader", {})
        assignment, student = str(info.get("assignment", "")), str(info.get("student", ""))
        cwd = resources.get("metadata", {}).get("path") or os.getcwd()
        self._prefix = self._command_prefix(resources)
        if self._prefix:
            cwd = "/tmp"  # the sandbox sees no course files; the child works in its private /tmp
        stopped = kernel_stopped(resources)
        for index, cell in enumerate(nb.cells):
            meta = nbgrader_meta(cell)
            grade_id = str(meta.get("grade_id", ""))
            if cell.cell_type != "code" or not meta.get("grade") or not grade_id.startswith(CHECK_PREFIX):
                continue
            exercise = grade_id[len(CHECK_PREFIX):]
            if stopped and index >= stopped["index"]:  # the kernel never got here: this exercise was prevented
                cell.outputs = [error_output("RuntimeError", f"{exercise}: not graded, because {stopped['reason']} "
                                                             "before this check ran")]
                continue
            # the student's code as it stood when this check cell ran: setup + solution cells above it
            setup, cells = student_program(nb, before=index)
            cell.outputs = [self.verdict_output(exercise, assignment, student, setup, cells, cwd)]
        return nb, resources

    def verdict_output(self, exercise: str, assignment: str, student: str, setup: str,
                       cells: list[str], cwd: str) -> Any:
        from ..checks import plain
        from ..checks.engine import REGISTRY, judge

        check = REGISTRY.get(exercise)
        if check is None:
            return error_output("GradingError", f"{exercise}: no trusted check with this name")
        seed = grading_seed(self.instructor_seed, assignment, student, exercise)
        request = {"exercise": exercise, "seed": seed, "setup": setup, "cells": cells, "cwd": cwd,
                   "timeout": self.check_timeout, "cell_timeout": self.cell_timeout,
                   "memory_mb": self.memory_limit_mb}
        try:
            reply = shared_client(self._prefix, self.server_socket).request(request)
        except ForkServerError as exc:  # infrastructure: fail loudly rather than grade wrongly
            raise RuntimeError(f"grading infrastructure failed on {exercise}: {exc}") from exc
        status = reply.get("status")
        if status == "timeout":
            return error_output("TimeoutError", f"{exercise}: your code did not finish within {self.check_timeout:g} s "
                                                "(an infinite loop, or far too slow)")
        if status == "crashed":
            return error_output("RuntimeError", f"{exercise}: the process running your code died ({reply.get('detail')}), "
                                                "e.g. through os._exit(), a crash or the memory limit")
        if status == "oversize":
            return error_output("RuntimeError", f"{exercise}: your code produced far too much result data")
        if status != "ok":
            raise RuntimeError(f"grading infrastructure failed on {exercise}: {reply}")
        cases = check.all_cases(seed)
        try:
            outcomes = plain.decode(reply["payload"])
        except plain.PlainDataError as exc:
            return error_output("AssertionError", f"{exercise}: the result of your code could not be read ({exc})")
        verdict: Verdict = judge(check, cases, outcomes, redact=True)
        if verdict.passed:
            return pass_output(verdict.pass_line)
        if verdict.not_implemented:
            return error_output("NotImplementedError", verdict.message)
        return error_output("AssertionError", verdict.message)
