"""Temporary copies of the course for tests that run real nbgrader commands."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[2]
LESSONS = sorted(p.name for p in (REPO / "solutions").iterdir() if (p / f"{p.name}.ipynb").exists())


def make_course(root: Path, lessons: list[str]) -> Path:
    """A course directory with the repository's nbgrader config and the given lessons' sources."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    for lesson in lessons:
        shutil.copytree(REPO / "solutions" / lesson, root / "solutions" / lesson, dirs_exist_ok=True)
    return root


def released_course(dest: Path, cache: Path, *, lessons: tuple[str, ...] = (), drills: dict[str, Any] | None = None,
                    config: str = "") -> Path:
    """A course at `dest`: the repository's nbgrader config followed by `config`, the sources of
    `lessons` and of `drills` (assignment name -> source notebook), each released by `nbgrader
    generate_assignment`. Each distinct course is released once per test run, under `cache` (shared
    by the xdist workers: a lock serialises builders), and `dest` is a copy."""
    import nbformat

    drills = drills or {}
    spec = json.dumps({"config": (REPO / "nbgrader_config.py").read_text() + config, "lessons": sorted(lessons),
                       "drills": {name: nbformat.writes(nb) for name, nb in sorted(drills.items())}}, sort_keys=True)
    built = cache / hashlib.sha256(spec.encode()).hexdigest()[:16]
    cache.mkdir(parents=True, exist_ok=True)
    with open(built.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (built / ".released").exists():
            shutil.rmtree(built, ignore_errors=True)
            make_course(built, list(lessons))
            with open(built / "nbgrader_config.py", "a") as file:
                file.write(config)
            for name, nb in drills.items():
                (built / "solutions" / name).mkdir(parents=True)
                nbformat.write(nb, built / "solutions" / name / f"{name}.ipynb")
            for assignment in [*lessons, *drills]:
                nbgrader(built, "generate_assignment", assignment, "--force")
            (built / ".released").touch()
    shutil.copytree(built, dest, ignore=shutil.ignore_patterns(".released"))
    return dest


def instructor_env(**extra: str) -> dict[str, str]:
    """The environment an instructor grades in: this test process's, with one thread, no progress
    bars, the test seed and this interpreter's scripts first on PATH (nbgrader runs `alembic` and
    the kernel from there), and without the variables a local Dask cluster started earlier in this
    process left in it; then `extra`."""
    # imported here, not at the top: importing grading.parallel patches jsonschema for the whole process
    from nb_helpers.grading.parallel.environ import DASK_NANNY_VARIABLES

    env = dict(os.environ, OMP_NUM_THREADS="1", TQDM_DISABLE="1", NB_HELPERS_GRADING_SEED="test-seed")
    for name in DASK_NANNY_VARIABLES:
        env.pop(name, None)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


def nbgrader(root: Path, *args: str, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run `nbgrader <args>` in `root` with the test environment's interpreter (`instructor_env`,
    updated with `env`)."""
    proc = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=root, env=instructor_env(**(env or {})),
                          capture_output=True, text=True, timeout=1800)
    if check and proc.returncode != 0:
        raise AssertionError(f"nbgrader {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}")
    return proc


@contextmanager
def strict_numpy() -> Iterator[None]:
    """A NumPy RuntimeWarning (overflow, invalid value, divide by zero — not underflow) is an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
            yield


def student_notebook(lesson: str, keep_tags: bool = True) -> Any:
    """The fresh student version of a lesson (`notebooks/`); without its cell tags when `keep_tags` is
    False, as Colab and VS Code see it (they ignore `raises-exception`)."""
    import nbformat

    nb = nbformat.read(REPO / "notebooks" / lesson / f"{lesson}.ipynb", as_version=4)
    if not keep_tags:
        for cell in nb.cells:
            cell.metadata.pop("tags", None)
    return nb


def check_cells(nb: Any) -> dict[int, str]:
    """{cell index: exercise id} of the notebook's check cells (`nb_helpers.conventions.checked_exercise`)."""
    from nb_helpers.conventions import checked_exercise

    exercises = {i: checked_exercise(c) for i, c in enumerate(nb.cells)}
    return {i: exercise for i, exercise in exercises.items() if exercise is not None}
