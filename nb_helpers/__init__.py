"""Helpers for the course "Training Neural Networks": reference implementations, datasets,
checks, plots and widgets used by the lesson notebooks and by the grader."""

__version__ = "0.1.0"
