"""Grade a synthetic class end to end with plain nbgrader commands (run by `make grade`).

Students: ada (every answer right), blaise (hands in the blank notebook), carl (the last exercise
of each lesson wrong), dana (blank answers plus code that fakes every check in her own kernel).
Writes autograded/, feedback/, grades.csv and reports/<lesson>/ (what the class got wrong) here.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO))

from nb_helpers.grading import synthetic  # noqa: E402


def nbgrader(*args: str) -> None:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    env.setdefault("NB_HELPERS_GRADING_SEED", "sample-class")
    print("$ nbgrader", " ".join(args), flush=True)
    subprocess.run([sys.executable, "-m", "nbgrader", *args, "--log-level=WARN"], cwd=HERE, env=env, check=True)


def report(lesson: str) -> None:
    """What the class got wrong (`nb-helpers-grade report`), into reports/<lesson>/."""
    print(f"$ nb-helpers-grade report {lesson}", flush=True)
    subprocess.run([sys.executable, "-m", "nb_helpers.grading.parallel.cli", "report", lesson], cwd=HERE, check=True,
                   stdout=subprocess.DEVNULL)


def main() -> int:
    lessons_available = sorted(p.name for p in (REPO / "solutions").iterdir() if (p / f"{p.name}.ipynb").exists())
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lessons", nargs="*", default=lessons_available, help="lesson ids (default: all)")
    lessons = parser.parse_args().lessons
    for name in ("submitted", "autograded", "feedback", "release", "reports", "gradebook.db", "grades.csv"):
        path = HERE / name
        shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
    for lesson in lessons:
        nbgrader("generate_assignment", lesson, "--force")
        source = synthetic.read(REPO / "solutions" / lesson / f"{lesson}.ipynb")
        blank = synthetic.read(HERE / "release" / lesson / f"{lesson}.ipynb")
        for student, nb in synthetic.sample_students(source, blank).items():
            synthetic.write_submission(nb, HERE, student, lesson)
        nbgrader("autograde", lesson, "--force")
        nbgrader("generate_feedback", lesson, "--force")
        report(lesson)
    nbgrader("export", "--to", "grades.csv")
    with open(HERE / "grades.csv") as f:
        rows = list(csv.DictReader(f))
    print(f"\n{'assignment':32s} {'student':8s} score")
    for row in sorted(rows, key=lambda r: (r["assignment"], r["student_id"])):
        print(f"{row['assignment']:32s} {row['student_id']:8s} {float(row['score']):g} / {float(row['max_score']):g}")
    print(f"\nfeedback: {HERE / 'feedback'}\ngrades:   {HERE / 'grades.csv'}\nreports:  {HERE / 'reports'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
