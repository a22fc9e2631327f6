"""`make bench`: how long each lesson takes to execute and to grade.

For every lesson (discovered from solutions/*/): the median wall time of executing the solution
notebook top to bottom (`--runs`, default 3) beside the floor (a notebook holding only the setup
cell: kernel start plus imports), and the autograde time per submission through real
`nbgrader autograde` (`--submissions` copies of the solution, one command). Writes
artifacts/bench.json. Targets (SPEC §7): each lesson ≤ 30 s on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

from nb_helpers.authoring import setup_cell_source
from nb_helpers.grading import synthetic
from tests.course import LESSONS, REPO, make_course, nbgrader

LIMIT_S = 30.0


def execute_seconds(nb, cwd: Path) -> float:
    start = time.perf_counter()
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}).execute()
    return time.perf_counter() - start


def lesson_seconds(lesson: str, runs: int) -> list[float]:
    path = REPO / "solutions" / lesson / f"{lesson}.ipynb"
    return [execute_seconds(nbformat.read(path, as_version=4), path.parent) for _ in range(runs)]


def floor_seconds(runs: int) -> list[float]:
    with tempfile.TemporaryDirectory() as tmp:
        return [execute_seconds(new_notebook(cells=[new_code_cell(setup_cell_source())]), Path(tmp)) for _ in range(runs)]


def autograde_seconds(lesson: str, submissions: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        root = make_course(Path(tmp) / "course", [lesson])
        nbgrader(root, "generate_assignment", lesson, "--force")
        source = synthetic.read(root / "solutions" / lesson / f"{lesson}.ipynb")
        for i in range(submissions):
            synthetic.write_submission(source, root, f"student{i}", lesson)
        start = time.perf_counter()
        nbgrader(root, "autograde", lesson, "--force")
        return (time.perf_counter() - start) / submissions


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--submissions", type=int, default=2)
    parser.add_argument("--lessons", nargs="*", default=LESSONS)
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("TQDM_DISABLE", "1")
    floor = statistics.median(floor_seconds(args.runs))
    print(f"floor (kernel start + imports): {floor:.1f} s\n")
    print(f"{'lesson':36s} {'median s':>9s} {'runs':>20s} {'autograde s/submission':>24s}  within {LIMIT_S:.0f} s")
    report = {"floor_s": floor, "lessons": {}}
    ok = True
    for lesson in args.lessons:
        runs = lesson_seconds(lesson, args.runs)
        median = statistics.median(runs)
        grade = autograde_seconds(lesson, args.submissions)
        within = median <= LIMIT_S
        ok &= within
        print(f"{lesson:36s} {median:9.1f} {' '.join(f'{r:.1f}' for r in runs):>20s} {grade:24.1f}  {'yes' if within else 'NO'}")
        report["lessons"][lesson] = {"median_s": median, "runs_s": runs, "autograde_s_per_submission": grade}
    (REPO / "artifacts").mkdir(exist_ok=True)
    (REPO / "artifacts" / "bench.json").write_text(json.dumps(report, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
