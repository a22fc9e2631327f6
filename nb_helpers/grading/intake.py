"""A clear, per-student message for submissions nbgrader cannot grade as they are.

Registered as nbgrader's `pre_convert_hook` in `nbgrader_config.py`, it runs before each student's
submission is autograded. It never stops the run: nbgrader goes on to grade everyone else, gives a
missing or unreadable notebook zero points, and lists the students it could not process at the end.
What it adds is the reason, in words an instructor can act on (a renamed file, a broken notebook).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import nbformat


def _log() -> Any:
    from traitlets.config import Application

    return Application.instance().log if Application.initialized() else logging.getLogger("nb_helpers.grading")


def expected_notebooks(source_dir: Path) -> list[str]:
    """File names of the assignment's notebooks (those in its source folder)."""
    return sorted(p.name for p in source_dir.glob("*.ipynb"))


def submission_problems(files: list[str], expected: list[str]) -> list[str]:
    """What is wrong with a submission made of `files` (paths) when `expected` names are graded."""
    problems = []
    names = {os.path.basename(f): f for f in files}
    unknown = sorted(set(names) - set(expected))
    for name in expected:
        if name not in names:
            found = f" (it contains {', '.join(unknown)}: was the notebook renamed?)" if unknown else ""
            problems.append(f"the notebook {name} is missing from the submission{found}; it scores 0. "
                            f"Put it back under its original name and autograde this student again")
            continue
        try:
            nbformat.validate(nbformat.read(names[name], as_version=4))
        except Exception as exc:  # noqa: BLE001 - any unreadable file gets the same treatment
            detail = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
            problems.append(f"{name} is not a valid notebook ({type(exc).__name__}: {detail}); it scores 0")
    return problems


def check_submission(notebooks: list[str], **_: Any) -> None:
    """nbgrader pre-convert hook: log each problem of one student's submission as an error.

    nbgrader passes the submission's notebook files (`submitted/<student>/<assignment>/*.ipynb`);
    its `student` and `assignment` arguments are the command's patterns, so the ids come from the path.
    """
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Application

    if not notebooks or not Application.initialized():
        return
    folder = Path(notebooks[0]).parent
    student, assignment = folder.parent.name, folder.name
    coursedir = CourseDirectory(config=Application.instance().config)
    source = Path(coursedir.format_path(coursedir.source_directory, ".", assignment))
    for problem in submission_problems(list(notebooks), expected_notebooks(source)):
        _log().error("student %r, assignment %r: %s", student, assignment, problem)
