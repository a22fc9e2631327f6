"""Imported by the local workers' fork server, once, before it forks the workers (and by each
worker as it starts, through Dask's `preload`, where it then costs nothing): nbgrader, nbconvert
and the course's checks (NumPy, torch) load while the coordinator reads the course, not during
the first submission. Their objects are then frozen out of the garbage collector's reach, in the
fork server (the workers inherit that), and once more in each worker for what Dask added."""

from typing import Any

import nbgrader.apps.autogradeapp  # noqa: F401
import nbgrader.converters  # noqa: F401

import nb_helpers.checks  # noqa: F401
from nb_helpers.grading.frozen import freeze_imports

freeze_imports()


def dask_setup(worker: Any) -> None:
    """Called by Dask in each local worker once it has started, before its first submission."""
    freeze_imports()
