"""The course as `nbgrader autograde` sees it from its root: its configuration, its directories and
the autograde preprocessors configured there.

Serial grading (`VerdictPreprocessor`, `StartVerdicts`), the LMS export, the instructor's report and
the parallel command (`nb_helpers.grading.parallel`) all read the course through here; nothing here
imports the parallel package.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Course:
    """The course as `nbgrader autograde` sees it from its root: configuration and directories."""

    config: Any
    coursedir: Any


def load_course(course_dir: Path, db_url: str | None, student: str | None) -> Course:
    """Load the configuration exactly as `nbgrader autograde` does when run in `course_dir`."""
    from nbgrader.apps.autogradeapp import AutogradeApp
    from nbgrader.coursedir import CourseDirectory

    cwd = os.getcwd()
    os.chdir(course_dir)
    try:
        app = AutogradeApp()
        app.log.setLevel(logging.ERROR)
        app.initialize([])
        config = app.config
        if db_url:
            config.CourseDirectory.db_url = db_url
        if student:
            config.CourseDirectory.student_id = student
        coursedir = CourseDirectory(config=config, log=app.log)
        coursedir.root  # noqa: B018 - its default (the working directory) is computed here, in course_dir
    finally:
        os.chdir(cwd)
    config.CourseDirectory.root = coursedir.root  # absolute: the config travels to other folders and hosts
    from .verdict import environment_seed

    # the hidden cases' secret comes from the coordinator's environment, not each worker's
    seed = environment_seed()
    if seed and "instructor_seed" not in config.VerdictPreprocessor:
        config.VerdictPreprocessor.instructor_seed = seed
    return Course(config=config, coursedir=coursedir)


def autograde_preprocessors(config: Any, kind: str = "autograde_preprocessors") -> list[Any]:
    """`Autograde.<kind>` (autograde_ or sanitize_preprocessors) as configured, or nbgrader's
    default, with names resolved to classes."""
    from nbgrader.converters import Autograde
    from traitlets.utils.importstring import import_item

    # nbgrader sets these defaults dynamically (the class attribute's default_value is a sentinel)
    listed = config.Autograde[kind] if kind in config.Autograde else Autograde.class_traits()[kind].default()
    return [import_item(p) if isinstance(p, str) else p for p in listed]
