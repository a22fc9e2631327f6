"""Autograde one submission inside a worker process, with nbgrader's own `Autograde` converter.

The worker keeps one scratch course folder for its whole life (so the verdict fork server, whose
sandbox hides that folder, stays warm across submissions) and empties it before each submission.
The course's configuration is used unchanged, except where the scratch course lives and which
gradebook it uses (the scratch one), and without the preprocessors that save grades: the
coordinator runs those against the real gradebook. Nothing is written outside the scratch folder.
"""

from __future__ import annotations

import atexit
import copy
import gc
import logging
import os
import shutil
import socket
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from ..course import autograde_preprocessors
from ..frozen import freeze_imports
from ..schema import check_schemas_once
from . import environ
from .engines import shared_engines
from .jobs import GradeJob, GradeResult, read_tree, write_tree
from .record import gradebook_preprocessors
from .scratch import without_fsync

warnings.filterwarnings("ignore", message=".*not in session")  # nbgrader on SQLAlchemy 2 (harmless)
# nbgrader's metadata check re-checks its JSON schema for every cell; in the grading processes
# (workers, and the coordinator, which imports this module) it is checked once per process, as the
# repository's nbgrader_config.py does for serial runs.
check_schemas_once()

#: Test hook: "student[:marker],..." makes the worker process exit abruptly when it starts grading
#: that student (once only, when `marker` is a path that does not exist yet; it is then created).
DIE_ON_ENV = "NB_HELPERS_GRADE_DIE_ON"

_scratch: Path | None = None


class GradingFailed(RuntimeError):
    """nbgrader could not autograde this submission (the student's files, not the infrastructure)."""


def scratch_root() -> Path:
    """This process's scratch course folder (created once, removed at exit)."""
    global _scratch
    if _scratch is None:
        _scratch = Path(tempfile.mkdtemp(prefix="nbh-grade-")) / "course"
        atexit.register(shutil.rmtree, _scratch.parent, True)
    if _scratch.exists():
        shutil.rmtree(_scratch)
    _scratch.mkdir(parents=True)
    return _scratch


def worker_config(config: Any, root: Path, job: GradeJob) -> Any:
    """The course's configuration pointed at the scratch course and its gradebook."""
    cfg = copy.deepcopy(config)
    cd = cfg.CourseDirectory
    cd.root = str(root)
    cd.db_url = f"sqlite:///{root / 'gradebook.db'}"
    cd.source_directory = "source"
    cd.submitted_directory = "submitted"
    cd.autograded_directory = "autograded"
    cd.directory_structure = os.path.join("{nbgrader_step}", "{student_id}", "{assignment_id}")
    cd.assignment_id = job.assignment
    cd.student_id = job.student
    cd.notebook_id = "*"
    cd.student_id_exclude = ""
    cfg.Autograde.create_student = True
    if job.verdict_socket:
        cfg.VerdictPreprocessor.server_socket = job.verdict_socket
    # the grades are saved by the coordinator, into the real gradebook; the scratch one needs none
    writers = set(gradebook_preprocessors(cfg))
    cfg.Autograde.autograde_preprocessors = [p for p in autograde_preprocessors(cfg) if p not in writers]
    _hide(cfg, job.hidden_paths)
    return cfg


def _hide(cfg: Any, paths: list[str]) -> None:
    """Add `paths` to the `hidden_paths` of every configured preprocessor that has one (the sandboxes
    hide the scratch course by themselves; the real course, on this machine, must stay hidden too)."""
    listed = [*autograde_preprocessors(cfg, "sanitize_preprocessors"), *autograde_preprocessors(cfg)]
    for cls in listed:
        if not isinstance(cls, type) or "hidden_paths" not in cls.class_traits(config=True):
            continue
        current = next((list(cfg[k.__name__]["hidden_paths"]) for k in cls.mro()
                        if k.__name__ in cfg and "hidden_paths" in cfg[k.__name__]), [])
        cfg[cls.__name__]["hidden_paths"] = current + [p for p in paths if p not in current]


def warm_up_verdicts(cfg: Any) -> None:
    """Have the configured verdict preprocessors start their fork server while the kernel runs
    (once per worker: it then stays up for every later submission), or connect to the shared one."""
    from ..verdict import configured_verdicts

    for cls in configured_verdicts(cfg):
        cls(config=cfg).warm_up(cfg.CourseDirectory.db_url)


class _Collect(logging.Handler):
    """Keeps the errors nbgrader (and the course's hooks) log while grading one submission."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.errors: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.errors.append(record.getMessage())


def autograde(job: GradeJob) -> tuple[dict[str, bytes], str]:
    """Run nbgrader's Autograde on the job in the scratch course: (autograded files, errors it logged)."""
    from nbgrader.apps.autogradeapp import AutogradeApp
    from nbgrader.converters import Autograde
    from nbgrader.converters.base import NbGraderException
    from nbgrader.coursedir import CourseDirectory

    root = scratch_root()
    (root / "gradebook.db").write_bytes(job.gradebook)
    without_fsync(root / "gradebook.db")
    write_tree(root / "source" / job.assignment, job.source_files)
    write_tree(root / "submitted" / job.student / job.assignment, job.submission)
    cfg = worker_config(job.config, root, job)
    environ.apply(job.environ)  # before the kernel, or a verdict server of its own, starts
    warm_up_verdicts(cfg)

    log = logging.getLogger(f"nb_helpers.grade.{os.getpid()}")
    log.propagate = False
    log.setLevel(logging.INFO)
    collect = _Collect()
    log.handlers = [collect]
    # hooks and preprocessors that look up the running nbgrader app see the scratch course
    AutogradeApp.clear_instance()
    AutogradeApp.instance(config=cfg, log=log)
    coursedir = CourseDirectory(config=cfg, log=log)
    converter = Autograde(coursedir=coursedir, config=cfg, log=log)
    try:
        with shared_engines():  # the scratch gradebook's queries compile once per worker
            converter.start()
        failed = False
    except NbGraderException:
        failed = True  # nbgrader logged why; it removed this student's output, as in a serial run
    out = root / "autograded" / job.student / job.assignment
    if failed or not out.is_dir():
        trace = next((e for e in collect.errors if e.lstrip().startswith("Traceback")), None)
        reason = trace.strip().splitlines()[-1] if trace else (collect.errors or [""])[0]
        raise GradingFailed(reason or "nbgrader produced no autograded notebook")
    return read_tree(out), "\n".join(collect.errors)


def _count_attempt(job: GradeJob) -> int:
    """Which try this is (counted on the Dask scheduler, so a restarted worker still knows)."""
    if not job.attempts_key:
        return 1
    from distributed import Variable, get_client

    var = Variable(job.attempts_key, client=get_client())
    attempt = int(var.get(timeout=60)) + 1
    var.set(attempt)
    return attempt


def _die_if_asked(student: str) -> None:
    for item in filter(None, os.environ.get(DIE_ON_ENV, "").split(",")):
        name, _, marker = item.partition(":")
        if name != student:
            continue
        if marker:
            try:
                os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                continue
        os._exit(70)


def grade_submission(job: GradeJob) -> GradeResult:
    """Entry point of a worker task: autograde one submission, never raise for the student's files."""
    if not gc.get_freeze_count():  # a local worker's fork server did it (see preload); a Dask cluster's
        freeze_imports()            # worker does it at its first submission
    start, started = time.perf_counter(), time.time()
    where = f"{socket.gethostname()}:{os.getpid()}"
    attempt = _count_attempt(job)
    if attempt > job.max_attempts:
        return GradeResult(job.student, ok=False, attempt=attempt - 1, worker=where,
                           error=f"the worker grading it died {attempt - 1} times (infrastructure); gave up")
    _die_if_asked(job.student)
    try:
        files, log = autograde(job)
    except GradingFailed as exc:
        return GradeResult(job.student, ok=False, error=str(exc), attempt=attempt, worker=where,
                           seconds=time.perf_counter() - start, started=started)
    except Exception as exc:  # noqa: BLE001 - reported per student; the run goes on
        return GradeResult(job.student, ok=False, error=f"{type(exc).__name__}: {exc}", attempt=attempt,
                           worker=where, seconds=time.perf_counter() - start, started=started)
    return GradeResult(job.student, ok=True, files=files, log=log, attempt=attempt, worker=where,
                       seconds=time.perf_counter() - start, started=started, verdicts=_verdicts(job))


def _verdicts(job: GradeJob) -> str:
    from ..client import uses_shared_server

    return "shared" if job.verdict_socket and uses_shared_server(job.verdict_socket) else "own"
