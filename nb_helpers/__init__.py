"""Helpers for the course "Training Neural Networks": reference implementations, datasets,
checks, plots and widgets used by the lesson notebooks and by the grader."""

__version__ = "0.1.0"

from .progress import progress  # noqa: E402 - `nb_helpers.progress()`: the lesson's exercises and the next one to do

__all__ = ["__version__", "progress"]
