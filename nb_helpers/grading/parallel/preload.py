"""Imported by each local worker process as it starts (Dask `preload`): nbgrader, nbconvert and the
course's checks (NumPy, torch) load while the coordinator reads the course, not during the first
submission."""

import nbgrader.apps.autogradeapp  # noqa: F401
import nbgrader.converters  # noqa: F401

import nb_helpers.checks  # noqa: F401
