"""nbgrader preprocessor that replaces every check cell's outputs with a verdict computed outside
the student's kernel (see `nb_helpers.grading`). Register it in `Autograde.autograde_preprocessors`
after `Execute` and before `SaveAutoGrades`, and `StartVerdicts` just before `Execute`, so that the
verdicts are made while the kernel runs (both done in the repository's `nbgrader_config.py`)."""

from __future__ import annotations

import json
import os
import tempfile
import threading
from typing import TYPE_CHECKING, Any, Callable, Iterator

from nbformat.v4 import new_output
from traitlets import Dict, Enum, Float, Unicode

from nbgrader.preprocessors import NbGraderPreprocessor

from ..conventions import GRADING_SEED_ENV, checked_exercise
from .cells import student_program
from .diagnosis import METADATA_KEY
from .client import ForkServerClient, ForkServerError, shared_client, start_shared_server
from .execute import RESOURCE_KEY, kernel_stopped
from .sandbox import SandboxSettings

if TYPE_CHECKING:
    from ..checks.outcome import Verdict
    from ..verdict_status import VerdictStatus

# The checks (NumPy, torch) are imported when the first notebook is graded, not with the
# configuration: every nbgrader command loads nbgrader_config.py, and most never grade.

#: The instructor seed when none is configured (no secret: `seed_warning`).
UNSET_SEED = "change-me"
#: Instructor seeds that are no secret: the default and the README's placeholder.
EXAMPLE_SEEDS = ("", UNSET_SEED, "<a secret for this offering>", "a secret for this offering")


def environment_seed(default: str | None = None) -> str | None:
    """The instructor seed from this process's environment (`GRADING_SEED_ENV`); `default` where it is not set."""
    return os.environ.get(GRADING_SEED_ENV, default)


def seed_warning(instructor_seed: str) -> str | None:
    """Why `instructor_seed` must be changed before grading (None: it is set). Anyone who knows the
    seed can compute every student's hidden cases."""
    if instructor_seed.strip() in EXAMPLE_SEEDS:
        return (f"the instructor seed is {'unset' if instructor_seed.strip() in ('', UNSET_SEED) else 'the example value'}"
                f" ({instructor_seed!r}): the hidden test cases are public. Set {GRADING_SEED_ENV} to a secret of "
                "this offering (or c.VerdictPreprocessor.instructor_seed, outside version control) and regrade.")
    return None


_warned_seeds: set[str] = set()


def warn_seed(instructor_seed: str, log: Any) -> None:
    """Log `seed_warning` loudly, once per process and seed."""
    problem = seed_warning(instructor_seed)
    if problem and instructor_seed not in _warned_seeds:
        _warned_seeds.add(instructor_seed)
        bar = "!" * 78
        log.warning("\n%s\nWARNING: %s\n%s", bar, problem, bar)


def grading_seed(instructor_seed: str, assignment: str, student: str, exercise: str) -> int:
    """Seed of the hidden cases: the same on every regrade, different between students."""
    from ..checks.declaration import case_seed

    return case_seed(instructor_seed, assignment, student, exercise)


def pass_output(verdict_line: str) -> Any:
    return new_output("stream", name="stdout", text=verdict_line + "\n")


def error_output(ename: str, evalue: str) -> Any:
    return new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


class EarlyVerdicts:
    """A notebook's check cell outputs, `produce(request)` for each verdict request, made one after
    another in a background thread (`VerdictPreprocessor.start_early`)."""

    def __init__(self, requests: list[dict], produce: Callable[[dict], Any]) -> None:
        self.requests, self.produce = requests, produce
        self.outputs: dict[str, Any] = {}
        self.done = threading.Condition()
        self.finished = self.cancelled = False
        self.thread = threading.Thread(target=self._ask, name="nbh-early-verdicts", daemon=True)

    @staticmethod
    def key(request: dict) -> str:
        return json.dumps(request, sort_keys=True)

    def start(self) -> None:
        self.thread.start()

    def _ask(self) -> None:
        try:
            for request in self.requests:
                if self.cancelled:
                    break
                output = self.produce(request)
                with self.done:
                    self.outputs[self.key(request)] = output
                    self.done.notify_all()
        except Exception:  # noqa: BLE001 - made again, and the failure reported, when it is needed
            pass
        finally:
            with self.done:
                self.finished = True
                self.done.notify_all()

    def output(self, request: dict) -> Any:
        """The output for `request` once it is there, or None when it was not made or making it
        failed (the caller then makes it itself)."""
        key = self.key(request)
        with self.done:
            self.done.wait_for(lambda: key in self.outputs or self.finished)
            return self.outputs.get(key)

    def cancel(self) -> None:
        """Ask nothing more (a request under way still runs to its end)."""
        self.cancelled = True


class VerdictPreprocessor(NbGraderPreprocessor, SandboxSettings):
    """Grade each check cell (grade_id `test_<exercise>`) from a verdict computed outside the kernel,
    in the sandbox `SandboxSettings` describes."""

    instructor_seed = Unicode(
        environment_seed(UNSET_SEED),
        help="Secret mixed into the hidden cases' seed (set it per course offering).",
    ).tag(config=True)
    check_timeout = Float(30.0, help="Seconds one exercise's check may run (unless its check sets a time limit "
                                     "of its own, `Check.time_limit`, or `time_limits` names it).").tag(config=True)
    time_limits = Dict(value_trait=Float(), key_trait=Unicode(),
                       help="Seconds per exercise id, overriding the check's own time limit and check_timeout "
                            "(e.g. {'train_digits': 120.0} for a slower grading machine).").tag(config=True)
    cell_timeout = Float(10.0, help="Seconds each solution cell above the check may run before it is "
                                     "interrupted (as the kernel interrupts a cell that runs too long).").tag(config=True)
    credit = Enum(["all", "fraction"], "all",
                  help='"all": an exercise scores its points only when every case passes (the default); '
                       '"fraction": the fraction of its cases that passed.').tag(config=True)
    server_socket = Unicode("", help="Unix socket of a fork server shared by the grading processes of this machine "
                                     "(`nb-helpers-grade` sets it for its local workers); empty: a server of its own. "
                                     "Where it cannot be reached, a server of its own is started.").tag(config=True)

    def _command_prefix(self, resources: dict) -> list[str]:
        return self.sandbox_command(str(resources.get("nbgrader", {}).get("db_url", "")))

    def warm_up(self, db_url: str) -> None:
        """Start the fork server for a course whose gradebook is `db_url` in the background now,
        rather than at the first check (its imports then overlap the notebook's execution), or
        connect to the shared one."""
        shared_client(self._command_prefix({"nbgrader": {"db_url": db_url}}), self.server_socket).warm_up()

    def start_shared_server(self, db_url: str, env: dict[str, str] | None = None) -> tuple[ForkServerClient, str]:
        """Start, in the background, a fork server for every grading process of this machine (their
        `server_socket`), sandboxed as this preprocessor's own would be, its socket's folder hidden
        too, with the environment `env` (default: this process's): (its owner's client, the socket's
        path)."""
        folder = tempfile.mkdtemp(prefix="nbh-verdicts-")
        self.hidden_paths = [*self.hidden_paths, folder]
        return start_shared_server(self._command_prefix({"nbgrader": {"db_url": db_url}}), folder, env)

    def check_cells(self, nb: Any, resources: dict) -> Iterator[tuple[int, Any, str, dict | None]]:
        """(index, cell, exercise, the request for its verdict, or None for an unknown check) of
        every check cell; also sets the sandbox prefix the requests go through."""
        from ..checks.declaration import REGISTRY

        info = resources.get("nbgrader", {})
        assignment, student = str(info.get("assignment", "")), str(info.get("student", ""))
        warn_seed(self.instructor_seed, self.log)
        cwd = resources.get("metadata", {}).get("path") or os.getcwd()
        self._prefix = self._command_prefix(resources)
        if self._prefix:
            cwd = "/tmp"  # the sandbox sees no course files; the child works in its private /tmp
        for index, cell in enumerate(nb.cells):
            exercise = checked_exercise(cell)
            if exercise is None:
                continue
            if exercise not in REGISTRY:
                yield index, cell, exercise, None
                continue
            # the student's code as it stood when this check cell ran: setup + solution cells above it
            setup, cells = student_program(nb, before=index)
            yield index, cell, exercise, {
                "exercise": exercise, "seed": grading_seed(self.instructor_seed, assignment, student, exercise),
                "setup": setup, "cells": cells, "cwd": cwd, "timeout": self.time_limit(exercise),
                "cell_timeout": self.cell_timeout, "memory_mb": self.memory_limit_mb}

    def time_limit(self, exercise: str) -> float:
        """Seconds the verdict of `exercise` may take: `time_limits`, else its check's own limit, else
        `check_timeout`."""
        from ..checks.declaration import REGISTRY

        if exercise in self.time_limits:
            return float(self.time_limits[exercise])
        return float(REGISTRY[exercise].time_limit or self.check_timeout)

    def start_early(self, nb: Any, resources: dict) -> None:
        """Compute the verdicts in a background thread from now on, while the student's kernel runs
        the notebook (they depend only on its cells' sources, which the kernel does not change);
        `preprocess` takes them from there."""
        requests = [req for _, _, _, req in self.check_cells(nb, resources) if req is not None]
        early = EarlyVerdicts(requests, self.diagnosed_output)
        resources.setdefault(RESOURCE_KEY, {})["early_verdicts"] = early
        early.start()

    def preprocess(self, nb: Any, resources: dict) -> tuple[Any, dict]:
        stopped = kernel_stopped(resources)
        early = resources.get(RESOURCE_KEY, {}).pop("early_verdicts", None)
        for cell in nb.cells:
            cell.metadata.pop(METADATA_KEY, None)  # only the verdicts below write it
        for index, cell, exercise, request in list(self.check_cells(nb, resources)):
            if stopped and index >= stopped["index"]:  # the kernel never got here: this exercise was prevented
                cell.outputs = [error_output("RuntimeError", f"{exercise}: not graded, because {stopped['reason']} "
                                                             "before this check ran")]
                status = "timeout" if "time limit" in stopped["reason"] else "kernel_died"
                cell.metadata[METADATA_KEY] = self._infrastructure(status, cell.outputs[0])
                continue
            if request is None:
                cell.outputs = [error_output("GradingError", f"{exercise}: no trusted check with this name")]
                cell.metadata[METADATA_KEY] = self._infrastructure("ungraded", cell.outputs[0])
                continue
            made = early.output(request) if early is not None else None
            output, cell.metadata[METADATA_KEY] = made if made is not None else self.diagnosed_output(request)
            cell.outputs = [output]
        if early is not None:
            early.cancel()  # those of exercises a stopped kernel prevented are not needed
        return nb, resources

    @staticmethod
    def _infrastructure(status: VerdictStatus, output: Any) -> dict:
        return {"status": status, "mistake": None, "hint": "", "problem": output["evalue"].split(": ", 1)[-1],
                "message": output["evalue"], "n_cases": 0, "n_failed": 0, "credit": 0.0}

    def diagnosed_output(self, request: dict) -> tuple[Any, dict]:
        """(`verdict_output`, what the instructor's report records of it: `nb_helpers.grading.diagnosis`)."""
        diagnosis: dict = {}
        output = self.verdict_output(request["exercise"], request, diagnosis)
        if "status" not in diagnosis:
            diagnosis.update(self._infrastructure("failed", output))
            if output["ename"] == "TimeoutError":
                diagnosis["status"] = "timeout"
            elif "process running your code died" in output["evalue"]:
                diagnosis["status"] = "kernel_died"
        diagnosis.setdefault("message", output.get("evalue") or output.get("text", "").strip())
        return output, diagnosis

    def verdict_output(self, exercise: str, request: dict, diagnosis: dict | None = None) -> Any:
        """The check cell's output: the verdict on the outcomes the fork server returns for `request`;
        `diagnosis`, if given, receives the verdict's status, mistake, hint, problem, case counts and credit."""
        from ..checks import outcome
        from ..checks.declaration import REGISTRY
        from ..checks.judgement import judge

        check = REGISTRY[exercise]
        try:
            reply = shared_client(self._prefix, self.server_socket).request(request)
        except ForkServerError as exc:  # infrastructure: fail loudly rather than grade wrongly
            raise RuntimeError(f"grading infrastructure failed on {exercise}: {exc}") from exc
        status = reply.get("status")
        if status == "timeout":
            return error_output("TimeoutError", f"{exercise}: your code did not finish within {float(request['timeout']):g} s "
                                                "(an infinite loop, or far too slow)")
        if status == "crashed":
            return error_output("RuntimeError", f"{exercise}: the process running your code died ({reply.get('detail')}), "
                                                "e.g. through os._exit(), a crash or the memory limit")
        if status == "oversize":
            return error_output("RuntimeError", f"{exercise}: your code produced far too much result data")
        if status != "ok":
            raise RuntimeError(f"grading infrastructure failed on {exercise}: {reply}")
        cases = check.all_cases(int(request["seed"]))
        try:  # sent by the student's process: read as untrusted data, a forged record is a failure
            outcomes = outcome.from_json(reply["payload"], len(cases))
        except outcome.OutcomeError as exc:
            return error_output("AssertionError", f"{exercise}: the result of your code could not be read ({exc})")
        verdict: Verdict = judge(check, cases, outcomes, redact=True)
        status = verdict.status
        if status == "missing" and "ran out of memory" in verdict.problem:
            status = "memory"
        elif status == "missing" and "was interrupted after" in verdict.problem:
            status = "timeout"
        fraction = status == "failed" and self.credit == "fraction" and verdict.n_cases > 0
        credit = 1.0 if verdict.passed else (verdict.n_cases - verdict.n_failed) / verdict.n_cases if fraction else 0.0
        if diagnosis is not None:
            diagnosis.update(status=status, mistake=verdict.mistake, hint=verdict.hint, problem=verdict.problem,
                             n_cases=verdict.n_cases, n_failed=verdict.n_failed, credit=credit)
        if verdict.passed:
            return pass_output(verdict.pass_line)
        if verdict.not_implemented:
            return error_output("NotImplementedError", verdict.message)
        if fraction:
            passed = verdict.n_cases - verdict.n_failed
            return error_output("AssertionError", f"{verdict.message}\npartial credit: {passed} of {verdict.n_cases} "
                                                  f"checks passed, {credit:.0%} of this exercise's points")
        return error_output("AssertionError", verdict.message)


def configured_verdicts(config: Any) -> list[type[VerdictPreprocessor]]:
    """The `VerdictPreprocessor` classes (or subclasses) in the configured autograde preprocessors."""
    from .course import autograde_preprocessors

    return [cls for cls in autograde_preprocessors(config)
            if isinstance(cls, type) and issubclass(cls, VerdictPreprocessor)]


class StartVerdicts(NbGraderPreprocessor):
    """Starts the verdicts of the configured `VerdictPreprocessor` in the background while the
    student's kernel runs the notebook; that preprocessor, later in the list, collects them. Register
    it just before the Execute preprocessor in `Autograde.autograde_preprocessors`."""

    def preprocess(self, nb: Any, resources: dict) -> tuple[Any, dict]:
        verdicts = configured_verdicts(self.config)
        if verdicts:
            verdicts[0](config=self.config).start_early(nb, resources)
        return nb, resources
