"""Temporary copies of the course for tests that run real nbgrader commands."""

from __future__ import annotations

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

from nb_helpers.grading.parallel.environ import DASK_NANNY_VARIABLES

REPO = Path(__file__).resolve().parents[1]
LESSONS = sorted(p.name for p in (REPO / "solutions").iterdir() if (p / f"{p.name}.ipynb").exists())


def make_course(root: Path, lessons: list[str]) -> Path:
    """A course directory with the repository's nbgrader config and the given lessons' sources."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    for lesson in lessons:
        shutil.copytree(REPO / "solutions" / lesson, root / "solutions" / lesson, dirs_exist_ok=True)
    return root


def instructor_env(**extra: str) -> dict[str, str]:
    """The environment an instructor grades in: this test process's, with one thread, no progress
    bars, the test seed and this interpreter's scripts first on PATH (nbgrader runs `alembic` and
    the kernel from there), and without the variables a local Dask cluster started earlier in this
    process left in it; then `extra`."""
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
    """{cell index: exercise id} of the notebook's check cells (nbgrader grade_id `test_<id>`)."""
    from nb_helpers.grading.cells import nbgrader_meta

    return {i: str(nbgrader_meta(c)["grade_id"])[len("test_"):] for i, c in enumerate(nb.cells)
            if c.cell_type == "code" and nbgrader_meta(c).get("grade")
            and str(nbgrader_meta(c).get("grade_id", "")).startswith("test_")}
