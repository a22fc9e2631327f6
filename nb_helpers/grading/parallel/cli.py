"""`nb-helpers-grade <assignment>`: autograde every submission of an assignment in parallel.

Also `nb-helpers-grade report <assignment>` (what the class got wrong: nb_helpers.grading.report),
`nb-helpers-grade export ...` and `nb-helpers-grade collect ...` (to and from an LMS:
nb_helpers.grading.lms); `nb-helpers-grade <subcommand> --help` for their options.

Run it where you would run `nbgrader autograde` (the course root, or give --course-dir): it reads
the same nbgrader_config.py and gives the same grades, using every usable core by default, or the
workers of a Dask cluster with --scheduler tcp://host:port.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import glob
import json
import logging
import os
import re
import sys
import time
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

# only light imports here: nbgrader and Dask load after the local workers' fork server has started
# (see open_client), so that its imports and the coordinator's run side by side
from . import environ  # first: it notes this process's environment before Dask can change it
from ..course import Course, load_course
from .cluster import ClusterError, open_client, usable_cores
from .jobs import MAX_ATTEMPTS, GradeJob, GradeResult, read_tree


class UsageError(RuntimeError):
    """Bad input: reported as one line, exit status 2."""


@dataclass
class ClassRunResult:
    """What one run did with the class's submissions: graded, failed (student, why), skipped (up to date)."""

    graded: list[GradeResult] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def find_submissions(coursedir: Any, assignment: str) -> dict[str, Path]:
    """student -> submitted folder, for the students matching --student (nbgrader's glob)."""
    pattern = coursedir.format_path(coursedir.submitted_directory, coursedir.student_id or "*", assignment)
    student_re = re.compile(coursedir.format_path(coursedir.submitted_directory, "(?P<student_id>[^/]+)",
                                                  re.escape(assignment), escape=True) + "$")
    found: dict[str, Path] = {}
    excluded = set(filter(None, coursedir.student_id_exclude.split(",")))
    for path in sorted(glob.glob(pattern)):
        m = student_re.match(path)
        if m and os.path.isdir(path) and m.group("student_id") not in excluded:
            found[m.group("student_id")] = Path(path)
    return found


def needs_grading(coursedir: Any, submitted: Path, autograded: Path, force: bool) -> bool:
    """nbgrader's rule: grade unless already autograded and not resubmitted since (or --force)."""
    if force or not autograded.exists():
        return True
    new, old = coursedir.get_existing_timestamp(str(submitted)), coursedir.get_existing_timestamp(str(autograded))
    return new is not None and old is not None and new > old


def source_files(course: Course, assignment: str) -> dict[str, bytes]:
    """The files of source/<assignment>/: nbgrader copies the others into every autograded folder and
    hooks may read the notebooks; the scratch course mirrors the real one."""
    cd = course.coursedir
    path = Path(cd.format_path(cd.source_directory, ".", assignment))
    return read_tree(path) if path.is_dir() else {}


@contextlib.contextmanager
def shared_verdict_server(course: Course) -> Iterator[str]:
    """One verdict fork server for all the local workers, started now, so that its imports overlap
    the workers' start, rather than one per worker at its first submission: yields its socket, or
    "" when the course's autograde computes no verdicts. It stops on leaving."""
    from ..verdict import configured_verdicts

    verdicts = configured_verdicts(course.config)
    if not verdicts:
        yield ""
        return
    try:
        # with the instructor's environment, not the one Dask's nannies leave in this process
        owner, path = verdicts[0](config=course.config).start_shared_server(course.coursedir.db_url,
                                                                            environ.for_students())
    except OSError as exc:  # e.g. a TMPDIR too long for a unix socket: each worker starts its own
        logging.getLogger(__name__).warning("no shared verdict fork server (%s); each worker starts its own", exc)
        yield ""
        return
    try:
        yield path
    finally:
        owner.close()


def grade(course: Course, assignment: str, get_client: Callable[[], Any], *, force: bool,
          progress: bool = True, verdict_socket: str = "") -> ClassRunResult:
    """Autograde the assignment's submissions on `get_client()`'s workers and record them; returns
    what happened. `verdict_socket`: a verdict fork server the workers share (local workers only)."""
    from .engines import shared_engines

    with shared_engines():  # the gradebook's queries compile once, not once per submission
        return _grade(course, assignment, get_client, force=force, progress=progress, verdict_socket=verdict_socket)


def _grade(course: Course, assignment: str, get_client: Callable[[], Any], *, force: bool, progress: bool,
           verdict_socket: str) -> ClassRunResult:
    from distributed import KilledWorker, Variable, as_completed
    from distributed.client import FutureCancelledError
    from tqdm import tqdm

    from ..sandbox import hidden_paths
    from .record import Recorder
    from .scratch import UnknownAssignment, template_gradebook
    from .worker import grade_submission

    cd = course.coursedir
    try:
        template = template_gradebook(cd.db_url, cd.course_id, assignment)
    except UnknownAssignment as exc:
        raise UsageError(str(exc)) from None
    submissions = find_submissions(cd, assignment)
    if not submissions:
        where = cd.format_path(cd.submitted_directory, cd.student_id or "*", assignment)
        raise UsageError(f"no submissions of {assignment!r} in {where}")

    recorder = Recorder(course.config, cd, assignment)
    outcome = ClassRunResult()
    todo: dict[str, Path] = {}
    for student, path in submissions.items():
        recorder.clean_leftovers(student)
        if not needs_grading(cd, path, recorder.autograded(student), force):
            outcome.skipped.append(student)
        elif not any(p.suffix == ".ipynb" for p in path.iterdir()):
            outcome.failed.append((student, f"no notebook in {path}"))  # nbgrader skips it too
        else:
            todo[student] = path
    if not todo:
        return outcome

    shared = dict(assignment=assignment, config=course.config, gradebook=template,
                  source_files=source_files(course, assignment), hidden_paths=hidden_paths(course.config, cd.db_url),
                  verdict_socket=verdict_socket, environ=dict(environ.ORIGINAL))
    client = get_client()
    run_id = uuid.uuid4().hex[:8]
    futures = {}
    for student, path in todo.items():
        key = f"nbh-grade-{run_id}-{len(futures)}"
        Variable(f"{key}-attempts", client=client).set(0)
        job = GradeJob(student=student, submission=read_tree(path), attempts_key=f"{key}-attempts",
                       max_attempts=MAX_ATTEMPTS, **shared)
        futures[client.submit(grade_submission, job, key=key, pure=False)] = student
    bar = tqdm(total=len(futures), unit="submission", desc=f"grading {assignment}", disable=not progress,
               dynamic_ncols=True)
    with bar:
        for future in as_completed(futures, loop=client.loop):
            student = futures[future]
            try:
                result: GradeResult = future.result()
            except KilledWorker:  # the scheduler gave up first (its own limit of worker deaths per task)
                tries = _attempts(client, future.key)
                result = GradeResult(student, ok=False, attempt=tries,
                                     error=f"the worker grading it died {tries} times (infrastructure); gave up")
            except (Exception, FutureCancelledError) as exc:  # infrastructure
                result = GradeResult(student, ok=False, error=f"{type(exc).__name__}: {exc}")
            _finish(recorder, result, outcome)
            Variable(f"{future.key}-attempts", client=client).delete()
            bar.set_postfix(failed=len(outcome.failed), refresh=False)
            bar.update()
    return outcome


def _attempts(client: Any, key: str) -> int:
    """How many times a job was started, from its counter on the scheduler."""
    from distributed import Variable

    try:
        return int(Variable(f"{key}-attempts", client=client).get(timeout=10))
    except Exception:  # noqa: BLE001 - the count is for the message only
        return MAX_ATTEMPTS


def _finish(recorder: Any, result: GradeResult, outcome: ClassRunResult) -> None:
    """Record one returned submission: grades first, then the autograded folder in one rename."""
    try:
        recorder.begin(result.student)
        if result.ok:
            recorder.record(result.student, result.files)
            recorder.install(result.student, result.files)
            outcome.graded.append(result)
            return
        recorder.discard(result.student)
        outcome.failed.append((result.student, result.error))
    except Exception as exc:  # noqa: BLE001 - one student's problem never stops the run
        outcome.failed.append((result.student, f"recording failed: {type(exc).__name__}: {exc}"))


def warn_about_seed(course: Course) -> None:
    """Say loudly, before grading, that the hidden cases' seed is unset or the example value."""
    from ..verdict import VerdictPreprocessor, configured_verdicts, seed_warning

    if not configured_verdicts(course.config):
        return
    problem = seed_warning(VerdictPreprocessor(config=course.config).instructor_seed)
    if problem:
        bar = "!" * 78
        print(f"{bar}\nnb-helpers-grade: WARNING: {problem}\n{bar}", file=sys.stderr)


def report(outcome: ClassRunResult, seconds: float) -> None:
    graded = len(outcome.graded)
    retried = [r for r in outcome.graded if r.attempt > 1]
    print(f"graded {graded}, skipped {len(outcome.skipped)} (already autograded; --force regrades), "
          f"failed {len(outcome.failed)} in {seconds:.0f} s"
          + (f" ({graded / seconds * 60:.1f} submissions/min)" if graded and seconds > 0 else ""))
    for r in retried:
        print(f"  {r.student}: graded after {r.attempt - 1} worker failure(s)")
    for r in outcome.graded:
        for line in filter(None, r.log.splitlines()):
            print(f"  NOTE {r.student}: {line}")
    for student, reason in sorted(outcome.failed):
        print(f"  FAILED {student}: {reason}")


def write_report(path: Path, assignment: str, outcome: ClassRunResult, seconds: float) -> None:
    """The run as JSON: wall time, and per student the worker, when it began and how long it took
    to grade, the tries, and whose fork server computed the verdicts ("shared": the one
    the coordinator started for its local workers)."""
    data = {"assignment": assignment, "seconds": seconds, "skipped": sorted(outcome.skipped),
            "failed": [{"student": s, "reason": r} for s, r in sorted(outcome.failed)],
            "graded": [{"student": r.student, "seconds": r.seconds, "started": r.started, "attempt": r.attempt,
                        "worker": r.worker, "verdicts": r.verdicts}
                       for r in sorted(outcome.graded, key=lambda r: r.student)]}
    path.write_text(json.dumps(data, indent=2))


#: `nb-helpers-grade <name> ...`: module and function each subcommand hands the rest of the arguments to.
SUBCOMMANDS = {"report": ("nb_helpers.grading.report", "main"),
               "export": ("nb_helpers.grading.lms", "export_main"),
               "collect": ("nb_helpers.grading.lms", "collect_main")}


def subcommand(name: str, argv: list[str]) -> int:
    """Run a subcommand, imported only now (a missing module fails only that subcommand)."""
    import importlib

    module, function = SUBCOMMANDS[name]
    try:
        run_it = getattr(importlib.import_module(module), function)
    except (ImportError, AttributeError) as exc:
        print(f"nb-helpers-grade {name}: not available ({type(exc).__name__}: {exc})", file=sys.stderr)
        return 2
    return int(run_it(argv) or 0)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in SUBCOMMANDS:
        return subcommand(argv[0], argv[1:])
    parser = argparse.ArgumentParser(prog="nb-helpers-grade", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("assignment", help="assignment id, as for `nbgrader autograde`")
    parser.add_argument("--workers", type=int, default=None,
                        help="local worker processes (default: the usable cores)")
    parser.add_argument("--scheduler", help="grade on a Dask cluster instead: tcp://host:port of its scheduler")
    parser.add_argument("--db-url", help="gradebook URL (default: CourseDirectory.db_url from the config, "
                                         "sqlite:///<root>/gradebook.db); e.g. postgresql://user@host/db")
    parser.add_argument("--student", help="grade only the students matching this glob")
    parser.add_argument("--force", action="store_true", help="regrade submissions that are already autograded")
    parser.add_argument("--course-dir", type=Path, default=Path.cwd(),
                        help="course root holding nbgrader_config.py (default: current directory)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--report", type=Path, help="also write what happened, per student, to this JSON file")
    args = parser.parse_args(argv)
    workers = args.workers or usable_cores()
    if workers < 1:
        parser.error("--workers must be at least 1")
    if not args.course_dir.is_dir():
        parser.error(f"no course directory {args.course_dir}")
    # nbgrader runs `alembic` and kernels from PATH; one BLAS thread per worker unless told otherwise
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")

    start = time.perf_counter()
    try:
        with open_client(args.scheduler, workers) as get_client:  # local workers start while the course loads
            course = load_course(args.course_dir.resolve(), args.db_url, args.student)
            warn_about_seed(course)
            warnings.filterwarnings("ignore", message=".*not in session")  # nbgrader on SQLAlchemy 2 (harmless)
            # workers on other machines (a scheduler's) cannot reach this machine's server
            with shared_verdict_server(course) if not args.scheduler else contextlib.nullcontext("") as verdict_socket:
                outcome = grade(course, args.assignment, get_client, force=args.force,
                                progress=not args.no_progress, verdict_socket=verdict_socket)
    except (UsageError, ClusterError) as exc:
        print(f"nb-helpers-grade: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        if type(exc).__module__.startswith("sqlalchemy") or isinstance(exc, ModuleNotFoundError):
            db = args.db_url or "the configured gradebook"
            print(f"nb-helpers-grade: cannot open {db}: {type(exc).__name__}: {str(exc).splitlines()[0]}",
                  file=sys.stderr)
            return 2
        raise
    except KeyboardInterrupt:
        print("nb-helpers-grade: interrupted; rerun the same command to finish (graded submissions are kept)",
              file=sys.stderr)
        return 130
    seconds = time.perf_counter() - start
    report(outcome, seconds)
    if args.report:
        write_report(args.report, args.assignment, outcome, seconds)
    return 1 if outcome.failed else 0


def run() -> None:
    """The console script: `main`, then exit without the interpreter's final garbage collection,
    which walks every object of the libraries the coordinator imported (about 1 s here), when the
    operating system frees the memory anyway. Exit handlers still run."""
    code = main()
    gc.freeze()
    raise SystemExit(code)


if __name__ == "__main__":
    run()
