"""One figure style for every lesson: labelled axes, readable at laptop size and in Colab's light theme."""

from __future__ import annotations

from typing import Any

import matplotlib as mpl
import matplotlib.pyplot as plt

STYLE: dict[str, Any] = {
    "figure.figsize": (7.0, 4.0),
    "figure.dpi": 90,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "legend.frameon": False,
    "font.size": 10,
    "figure.facecolor": "white",
    "axes.facecolor": "white",
}


def use_style() -> None:
    """Apply the course style to every later figure."""
    mpl.rcParams.update(STYLE)


def new_axes(ncols: int = 1, nrows: int = 1, width: float = 4.5, height: float = 3.4, **kwargs: Any):
    """`plt.subplots` sized per panel, with the course style and a tight layout."""
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), layout="constrained", **kwargs)
    return fig, axes
