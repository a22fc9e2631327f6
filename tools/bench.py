"""`make bench`: how long each lesson takes to execute and to grade.

For every lesson (discovered from solutions/*/): the median wall time of executing the solution
notebook top to bottom (`--runs`, default 3; 0 skips it) beside the floor (a notebook holding only
the setup cell: kernel start plus imports), and the grading of a synthetic class of
`--submissions` students (default 8; right, one wrong, blank and tampering notebooks in turn),
one thread per process:

- serial: plain `nbgrader autograde`, one command;
- parallel: `nb-helpers-grade --workers W` (default: the usable cores), one command;
- bare: the same notebooks executed with nbclient, W processes at a time, the kernel stopped as
  grading stops it (no grading at all; each one just before the parallel command and again just
  after it, so that drift in the machine's speed cancels out of the overhead, and the mean of two
  executions halves the scatter of each comparison).

With `--repeats R`, the whole comparison (serial, bare, parallel, bare) runs R times per lesson and
every figure is the median of the R runs: on a machine whose speed drifts from minute to minute,
single runs of the same code scatter by about ±0.1 in ratio and from 0 to 3 s in overhead.

It prints submissions per minute for both commands and their ratio, and the per-submission
overhead of the parallel command over bare execution: the mean, over submissions, of a worker's
time for the submission minus the bare executions of the same notebook, both at W at a time.
Costs paid once per run are printed apart: each worker's warm-up (how much more overhead the
first submissions had than the later ones: the verdict fork server the workers share may still be
importing NumPy, torch and scikit-learn then) and the command's start-up (its wall time not spent
grading: starting the workers, reading the course, the last worker waiting for the other). The overhead is taken over the later submissions of each worker, or over all of them
when no worker graded two. Writes artifacts/bench.json. Targets: each lesson ≤ 30 s;
on 2 cores, parallel/serial ≥ 1.7 and overhead ≤ 1 s per submission.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

from nb_helpers.conventions import setup_cell_source
from nb_helpers.grading import synthetic
from nb_helpers.grading.execute import poll_replies_in_slices
from nb_helpers.grading.parallel.cluster import usable_cores
from tests.support.course import LESSONS, REPO, make_course, nbgrader

LIMIT_S = 30.0


class Client(NotebookClient):
    """nbclient, reading kernel replies in slices as grading does: a single long wait can last the
    whole cell timeout although the reply is there (jupyter/nbclient#312)."""

    async def async_start_new_kernel_client(self):
        return poll_replies_in_slices(await super().async_start_new_kernel_client())


def execute_seconds(nb, cwd: Path) -> float:
    start = time.perf_counter()
    Client(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}).execute()
    return time.perf_counter() - start


def lesson_seconds(lesson: str, runs: int) -> list[float]:
    path = REPO / "solutions" / lesson / f"{lesson}.ipynb"
    return [execute_seconds(nbformat.read(path, as_version=4), path.parent) for _ in range(runs)]


def floor_seconds(runs: int) -> list[float]:
    with tempfile.TemporaryDirectory() as tmp:
        return [execute_seconds(new_notebook(cells=[new_code_cell(setup_cell_source())]), Path(tmp)) for _ in range(runs)]


STUDENT_KINDS = ("solution", "one_wrong", "blank", "tamper")
RATIO_TARGET, OVERHEAD_TARGET_S = 1.7, 1.0


def synthetic_class(root: Path, lesson: str, submissions: int) -> list[Path]:
    """Write `submissions` students' notebooks (the kinds of STUDENT_KINDS in turn); their paths."""
    source = synthetic.read(root / "solutions" / lesson / f"{lesson}.ipynb")
    release = synthetic.read(root / "notebooks" / lesson / f"{lesson}.ipynb")
    ids = synthetic.exercises(source)
    kinds = {"solution": source, "one_wrong": synthetic.with_wrong_answer(source, ids[-1]), "blank": release,
             "tamper": synthetic.with_code_in_solution(release, ids[0], synthetic.TAMPERING)}
    return [synthetic.write_submission(kinds[STUDENT_KINDS[i % len(STUDENT_KINDS)]], root, f"student{i:03d}", lesson)
            for i in range(submissions)]


def bare_seconds(path: str) -> float:
    """Execute one submitted notebook with nbclient, as grading would: errors do not stop it, and
    the kernel is stopped at once when the last cell has run (a graceful shutdown of a kernel that
    imported torch adds 1 to 2 s that grading does not spend). Runs in a process of its own (see
    class_grading); the kernel's warnings are not shown."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    for attempt in range(3):
        nb = nbformat.read(path, as_version=4)
        start = time.perf_counter()
        try:
            Client(nb, timeout=120, kernel_name="python3", allow_errors=True, shutdown_kernel="immediate",
                   resources={"metadata": {"path": str(Path(path).parent)}}).execute()
            return time.perf_counter() - start
        except RuntimeError as exc:  # "Kernel died before replying to kernel_info": kernels started
            if attempt == 2 or "kernel_info" not in str(exc):  # at once in two processes can pick the
                raise                                           # same free TCP port (jupyter_client#487)
    raise AssertionError("unreachable")


def bare_run(paths: list[Path], workers: int) -> tuple[list[float], float]:
    """Execute `paths` bare, `workers` at a time: (each execution's seconds, wall seconds)."""
    if not paths:
        return [], 0.0
    start = time.perf_counter()
    # a process per client, W at a time: clients in threads of one process would share its GIL
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        seconds = list(pool.map(bare_seconds, [str(p) for p in paths]))
    return seconds, time.perf_counter() - start


def first_and_later(graded: list[dict]) -> tuple[list[dict], list[dict]]:
    """(each worker's first submission, the others) from the command's report; when no worker
    graded two, every submission counts as a later one too."""
    by_worker: dict[str, list[dict]] = {}
    for g in sorted(graded, key=lambda g: g["started"]):
        by_worker.setdefault(g["worker"], []).append(g)
    first = [runs[0] for runs in by_worker.values()]
    later = [g for runs in by_worker.values() for g in runs[1:]]
    return first, later or list(graded)


def class_grading(lesson: str, submissions: int, workers: int) -> dict:
    """Serial autograde, the parallel command and bare execution of the same synthetic class.
    Every notebook is executed bare just before the parallel command and again just after it, so
    that a machine whose speed drifts during the run biases the overhead as little as possible."""
    with tempfile.TemporaryDirectory() as tmp:
        base = make_course(Path(tmp) / "base", [lesson])
        nbgrader(base, "generate_assignment", lesson, "--force")
        paths = synthetic_class(base, lesson, submissions)
        serial_root, parallel_root = Path(tmp) / "serial", Path(tmp) / "parallel"
        shutil.copytree(base, serial_root)
        shutil.copytree(base, parallel_root)

        start = time.perf_counter()
        nbgrader(serial_root, "autograde", lesson)
        serial = time.perf_counter() - start

        before, before_wall = bare_run(paths, workers)

        report = Path(tmp) / "report.json"
        env = dict(os.environ, NB_HELPERS_GRADING_SEED="test-seed")
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "nb_helpers.grading.parallel.cli", lesson, "--workers", str(workers),
                        "--no-progress", "--report", str(report)], cwd=parallel_root, env=env, check=True,
                       stdout=subprocess.DEVNULL)
        parallel = time.perf_counter() - start
        graded = json.loads(report.read_text())["graded"]
        assert len(graded) == submissions, "the parallel command did not grade every submission"

        after, after_wall = bare_run(paths, workers)
        bare, bare_wall = [(b + a) / 2 for b, a in zip(before, after)], (before_wall + after_wall) / 2

    # each submission's grading time against the bare executions of the same notebook (the kinds
    # of student differ in length, and each worker's first submissions are of the longest kinds)
    bare_of = {path.parts[-3]: seconds for path, seconds in zip(paths, bare)}
    first, later = first_and_later(graded)
    overhead = statistics.mean(g["seconds"] - bare_of[g["student"]] for g in later)
    return {"submissions": submissions, "workers": workers, "serial_s": serial, "parallel_s": parallel,
            "bare_s": bare_wall, "serial_per_min": submissions / serial * 60,
            "parallel_per_min": submissions / parallel * 60, "ratio": serial / parallel,
            "worker_s_per_submission": statistics.mean(g["seconds"] for g in graded),
            "bare_s_per_submission": statistics.mean(bare),
            "overhead_s_per_submission": overhead,
            "worker_warmup_s": statistics.mean(g["seconds"] - bare_of[g["student"]] for g in first) - overhead,
            "parallel_startup_s": parallel - sum(g["seconds"] for g in graded) / workers,
            "autograde_s_per_submission": serial / submissions}


def median_of_runs(runs: list[dict]) -> dict:
    """Each figure's median over the runs of one lesson, and every run's own figures."""
    merged = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
    merged["runs"] = runs
    return merged


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="executions of each solution notebook (0: skip)")
    parser.add_argument("--submissions", type=int, default=8, help="synthetic students per lesson (0: skip grading)")
    parser.add_argument("--workers", type=int, default=usable_cores(), help="workers of the parallel command")
    parser.add_argument("--repeats", type=int, default=1,
                        help="runs of the grading comparison per lesson; figures are their medians")
    parser.add_argument("--lessons", nargs="*", default=LESSONS)
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = "1"
    os.environ.setdefault("TQDM_DISABLE", "1")
    report: dict = {"lessons": {}}
    ok = True
    if args.runs:
        floor = statistics.median(floor_seconds(args.runs))
        report["floor_s"] = floor
        print(f"floor (kernel start + imports): {floor:.1f} s\n")
        print(f"{'lesson':36s} {'median s':>9s} {'runs':>20s}  within {LIMIT_S:.0f} s")
        for lesson in args.lessons:
            runs = lesson_seconds(lesson, args.runs)
            median = statistics.median(runs)
            within = median <= LIMIT_S
            ok &= within
            print(f"{lesson:36s} {median:9.1f} {' '.join(f'{r:.1f}' for r in runs):>20s}  {'yes' if within else 'NO'}")
            report["lessons"][lesson] = {"median_s": median, "runs_s": runs}
    if args.submissions:
        print(f"\ngrading {args.submissions} submissions per lesson; parallel: {args.workers} workers; one thread each"
              + (f"; medians of {args.repeats} runs" if args.repeats > 1 else ""))
        print(f"{'lesson':36s} {'serial/min':>10s} {'parallel/min':>12s} {'ratio':>6s} {'bare s':>7s} "
              f"{'worker s':>8s} {'overhead s':>10s} {'warm-up s':>9s} {'start-up s':>10s}")
        for lesson in args.lessons:
            g = median_of_runs([class_grading(lesson, args.submissions, args.workers) for _ in range(args.repeats)])
            report["lessons"].setdefault(lesson, {}).update(g)
            if args.workers >= 2:
                ok &= g["ratio"] >= RATIO_TARGET and g["overhead_s_per_submission"] <= OVERHEAD_TARGET_S
            print(f"{lesson:36s} {g['serial_per_min']:10.2f} {g['parallel_per_min']:12.2f} {g['ratio']:6.2f} "
                  f"{g['bare_s_per_submission']:7.1f} {g['worker_s_per_submission']:8.1f} "
                  f"{g['overhead_s_per_submission']:10.1f} {g['worker_warmup_s']:9.1f} {g['parallel_startup_s']:10.1f}")
            if args.repeats > 1:
                ratios = " ".join(f"{run['ratio']:.2f}" for run in g["runs"])
                overheads = " ".join(f"{run['overhead_s_per_submission']:.1f}" for run in g["runs"])
                print(f"{'':36s} each run: ratio {ratios}, overhead {overheads} s")
        print(f"targets: ratio ≥ {RATIO_TARGET} (with 2 workers or more), overhead ≤ {OVERHEAD_TARGET_S:g} s")
    (REPO / "artifacts").mkdir(exist_ok=True)
    (REPO / "artifacts" / "bench.json").write_text(json.dumps(report, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
