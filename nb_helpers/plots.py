"""One figure style for every lesson: labelled axes, readable at laptop size and in Colab's light theme,
and told apart without colour vision.

Colours come from the Okabe–Ito palette (distinguishable under the common colour-vision
deficiencies and in greyscale print); every line of the default cycle also has its own dash
pattern, so that two curves never differ by colour alone. `C0`–`C7` name the palette's colours in
order; `PALETTE` names them by hue for figures that need a fixed meaning (e.g. train vs validation).

The figure kinds the lessons draw more than once follow: which samples each part of a split uses
(`plot_index_bars`), learning curves with the best and early-stopping epochs marked
(`plot_learning_curves`) and confusion matrices (`plot_confusion`).
"""

from __future__ import annotations

from typing import Any, Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
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


# ---------------------------------------------------------------- figure kinds: splits, learning curves, confusion

#: The parts of a split, in the course palette; unused samples in light grey.
PART_COLORS = {"train": PALETTE["blue"], "val": PALETTE["orange"], "test": PALETTE["green"], "unused": "0.85"}
_CODES = {"train": 0, "val": 1, "test": 2, "unused": 3}


def split_labels(n: int, train: np.ndarray | None = None, val: np.ndarray | None = None,
               test: np.ndarray | None = None) -> np.ndarray:
    """Label each of n indices 'train', 'val', 'test' or 'unused' (for `plot_index_bars`)."""
    out = np.full(n, "unused", dtype=object)
    for name, idx in (("train", train), ("val", val), ("test", test)):
        if idx is not None:
            out[np.asarray(idx, dtype=np.int64)] = name
    return out


def plot_index_bars(ax: Any, rows: Sequence[tuple[str, np.ndarray]], title: str = "",
                    marks: np.ndarray | None = None) -> None:
    """One horizontal bar per row, one cell per sample index, coloured by the part it belongs to.

    `marks` (optional, length n, 0/1) draws a dot on the samples of the minority class."""
    from matplotlib.colors import ListedColormap

    cmap = ListedColormap([PART_COLORS[k] for k in ("train", "val", "test", "unused")])
    codes = np.array([[_CODES[str(v)] for v in labels] for _, labels in rows])
    n = codes.shape[1]
    ax.imshow(codes, aspect="auto", cmap=cmap, vmin=-0.5, vmax=3.5, interpolation="nearest",
              extent=(-0.5, n - 0.5, len(rows) - 0.5, -0.5))
    if marks is not None:
        for r in range(len(rows)):
            hit = np.flatnonzero(marks)
            ax.scatter(hit, np.full(hit.size, r), s=6, color="black", zorder=3)
    ax.set_yticks(range(len(rows)), [name for name, _ in rows])
    ax.set_xlabel("sample index")
    ax.set_title(title)
    ax.grid(False)
    for r in range(len(rows) - 1):
        ax.axhline(r + 0.5, color="white", lw=2)


def part_legend(ax: Any, parts: Sequence[str] = ("train", "val", "test"), **kwargs: Any) -> None:
    """Legend patches for the part colours."""
    from matplotlib.patches import Patch

    ax.legend(handles=[Patch(color=PART_COLORS[p], label=p) for p in parts], **kwargs)


def plot_learning_curves(ax: Any, hist: dict[str, Any], best_epoch: int | None = None,
                         stop_epoch: int | None = None, title: str = "", key: str = "loss") -> None:
    """Training and validation curves against the epoch, with the best and stopping epochs marked."""
    epochs = np.arange(len(hist[f"train_{key}"]))
    ax.plot(epochs, hist[f"train_{key}"], color="C0", ls="-", label="training")
    ax.plot(epochs, hist[f"val_{key}"], color="C1", ls="--", label="validation")
    if best_epoch is not None:
        ax.axvline(best_epoch, color="C2", ls="-.", lw=1.2, label=f"best epoch ({best_epoch})")
        ax.plot(best_epoch, hist[f"val_{key}"][best_epoch], "o", color="C2")
    if stop_epoch is not None:
        ax.axvline(stop_epoch, color="C3", ls=":", lw=1.5, label=f"early stop ({stop_epoch})")
        ax.axvspan(stop_epoch, epochs[-1], color="0.85", alpha=0.5, zorder=0)
    ax.set(xlabel="epoch", ylabel=key if key != "loss" else "BCE loss", title=title)
    ax.legend(fontsize=8)


def plot_confusion(ax: Any, cm: np.ndarray, labels: Sequence[str], title: str = "") -> None:
    """Confusion-matrix heat map: rows = true class, columns = predicted class, counts written in."""
    cm = np.asarray(cm)
    ax.imshow(cm, cmap=SEQUENTIAL_CMAP)
    for (i, j), v in np.ndenumerate(cm):   # the sequential map is dark for small counts, light for large ones
        ax.text(j, i, str(v), ha="center", va="center", color="black" if v > cm.max() / 2 else "white")
    ax.set_xticks(range(len(labels)), labels)
    ax.set_yticks(range(len(labels)), labels)
    ax.set(xlabel="predicted class", ylabel="true class", title=title)
    ax.grid(False)
