"""The coordinator's writes: grades into the real gradebook, autograded files into the course.

Grades are recorded by the same code serial `nbgrader autograde` runs: the student and submission
as `Autograde.init_assignment` creates them (timestamp, zeroed missing notebooks), then the
configured `SaveAutoGrades` / `AssignLatePenalties` preprocessors over each autograded notebook,
against the real gradebook. The autograded folder is moved into place only after its grades are
committed, so its presence means "recorded" and a restarted run can skip it.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import nbformat

from ..course import autograde_preprocessors
from .jobs import write_tree

PARTIAL = ".partial-"
OLD = ".old-"


def gradebook_preprocessors(config: Any) -> list[type]:
    """The configured autograde preprocessors that write grades (SaveAutoGrades, AssignLatePenalties,
    the diagnosis's RecordDiagnosis, or subclasses), in their configured order."""
    from nbgrader.preprocessors import AssignLatePenalties, SaveAutoGrades

    from ..diagnosis import RecordDiagnosis

    return [c for c in autograde_preprocessors(config)
            if isinstance(c, type) and issubclass(c, (SaveAutoGrades, RecordDiagnosis, AssignLatePenalties))]


class Recorder:
    """Writes one assignment's results into the real course (gradebook and autograded/)."""

    def __init__(self, config: Any, coursedir: Any, assignment: str) -> None:
        from nbgrader.api import Gradebook
        from nbgrader.converters import Autograde

        self.config, self.coursedir, self.assignment = config, coursedir, assignment
        self.db_url, self.course_id = coursedir.db_url, coursedir.course_id
        converter = Autograde(coursedir=coursedir, config=config)
        self.permissions = int(str(converter.permissions), 8)
        self.create_student = converter.create_student
        self.preprocessors = [cls(config=config) for cls in gradebook_preprocessors(config)]
        with Gradebook(self.db_url, self.course_id) as gb:
            self.notebooks = [nb.name for nb in gb.find_assignment(assignment).notebooks]

    def submitted(self, student: str) -> Path:
        return Path(self.coursedir.format_path(self.coursedir.submitted_directory, student, self.assignment))

    def autograded(self, student: str) -> Path:
        return Path(self.coursedir.format_path(self.coursedir.autograded_directory, student, self.assignment))

    def begin(self, student: str) -> None:
        """Student, submission (with its timestamp) and zeros for missing notebooks, as nbgrader does."""
        from nbgrader.api import Gradebook, MissingEntry

        timestamp = self.coursedir.get_existing_timestamp(str(self.submitted(student)))
        with Gradebook(self.db_url, self.course_id) as gb:
            if self.create_student:
                gb.update_or_create_student(student)
            else:
                try:
                    gb.find_student(student)
                except MissingEntry:
                    raise RuntimeError(f"no student with ID {student!r} in the gradebook") from None
            if timestamp:
                gb.update_or_create_submission(self.assignment, student, timestamp=timestamp)
            else:
                gb.update_or_create_submission(self.assignment, student)
            for name in self.notebooks:
                if not (self.submitted(student) / f"{name}.ipynb").exists():
                    for grade in gb.find_submission_notebook(name, self.assignment, student).grades:
                        grade.auto_score = 0
                        grade.needs_manual_grade = False
                    gb.db.commit()

    def record(self, student: str, files: dict[str, bytes]) -> None:
        """Save the grades of every autograded notebook of the assignment into the real gradebook."""
        for name in self.notebooks:
            data = files.get(f"{name}.ipynb")
            if data is None:
                continue
            nb = nbformat.reads(data.decode("utf-8"), as_version=nbformat.NO_CONVERT)
            resources = {"nbgrader": {"student": student, "assignment": self.assignment, "notebook": name,
                                      "db_url": self.db_url},
                         "metadata": {"path": str(self.autograded(student))}}
            for pp in self.preprocessors:
                nb, resources = pp.preprocess(nb, resources)

    def install(self, student: str, files: dict[str, bytes]) -> None:
        """Replace autograded/<student>/<assignment>/ with `files` in one rename."""
        dest = self.autograded(student)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tag = uuid.uuid4().hex[:8]
        partial = dest.parent / f".{dest.name}{PARTIAL}{tag}"
        write_tree(partial, files)
        for dirpath, _, filenames in os.walk(partial):
            for name in filenames:
                os.chmod(os.path.join(dirpath, name), self.permissions)
        if dest.exists():
            old = dest.parent / f".{dest.name}{OLD}{tag}"
            os.rename(dest, old)
            os.rename(partial, dest)
            _rmtree(old)
        else:
            os.rename(partial, dest)

    def discard(self, student: str) -> None:
        """A failed submission leaves no autograded folder (as with nbgrader), so a rerun retries it."""
        dest = self.autograded(student)
        if dest.exists():
            _rmtree(dest)

    def clean_leftovers(self, student: str) -> None:
        """Remove half-written folders left by a coordinator that was killed."""
        dest = self.autograded(student)
        if dest.parent.is_dir():
            for path in dest.parent.glob(f".{dest.name}.*"):
                if PARTIAL in path.name or OLD in path.name:
                    _rmtree(path)


def _rmtree(path: Path) -> None:
    from nbgrader.utils import rmtree

    rmtree(str(path))
