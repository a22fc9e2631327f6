"""One figure style for every lesson: labelled axes, readable at laptop size and in Colab's light theme,
and told apart without colour vision.

Colours come from the Okabe–Ito palette (distinguishable under the common colour-vision
deficiencies and in greyscale print); every line of the default cycle also has its own dash
pattern, so that two curves never differ by colour alone. `C0`–`C7` name the palette's colours in
order; `PALETTE` names them by hue for figures that need a fixed meaning (e.g. train vs validation).
"""

from __future__ import annotations

from typing import Any

import matplotlib as mpl
import matplotlib.pyplot as plt
from cycler import cycler

#: Okabe & Ito (2008), "Color Universal Design": the palette, in the order of the default cycle.
PALETTE: dict[str, str] = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",
    "vermillion": "#D55E00",
    "sky": "#56B4E9",
    "purple": "#CC79A7",
    "yellow": "#F0E442",
    "black": "#000000",
}
COLORS: tuple[str, ...] = tuple(PALETTE.values())
#: One dash pattern per colour of the cycle (solid, dashed, dash-dot, dotted, then long dashes).
LINESTYLES: tuple[Any, ...] = ("-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1)), (0, (1, 2)), (0, (8, 2, 2, 2)))
#: Markers for scatter plots and sparse lines, in the same order.
MARKERS: tuple[str, ...] = ("o", "s", "^", "D", "v", "P", "X", "*")
#: A sequential colour map that is perceptually uniform and readable by colour-blind readers.
SEQUENTIAL_CMAP = "viridis"
#: A diverging map for signed quantities (weights, differences).
DIVERGING_CMAP = "PuOr"


def style_of(i: int) -> dict[str, Any]:
    """Colour, dash pattern and marker of the i-th series, for loops that draw series by hand."""
    return {"color": COLORS[i % len(COLORS)], "linestyle": LINESTYLES[i % len(LINESTYLES)],
            "marker": MARKERS[i % len(MARKERS)]}

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
    "axes.prop_cycle": cycler(color=list(COLORS)) + cycler(linestyle=list(LINESTYLES)),
    "image.cmap": SEQUENTIAL_CMAP,
}


def use_style() -> None:
    """Apply the course style to every later figure."""
    mpl.rcParams.update(STYLE)


def new_axes(ncols: int = 1, nrows: int = 1, width: float = 4.5, height: float = 3.4, **kwargs: Any):
    """`plt.subplots` sized per panel, with the course style and a tight layout."""
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), layout="constrained", **kwargs)
    return fig, axes
