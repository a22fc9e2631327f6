r"""Lesson 02 helpers: generated data, the model-complexity experiment and its widget, small training
runs, and the lesson's figures (index bars of splits, learning curves with early-stopping marks,
confusion matrices).

Everything is seeded and vectorised so the lesson runs in seconds on a laptop CPU. Polynomial degree
is the capacity knob of the complexity graph: fitting 16 polynomials takes milliseconds, which lets
the widget redraw instantly; the neural-network experiments of the lesson show the same effects.
"""

from __future__ import annotations

import copy
from typing import Any, Callable, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn

from .plots import PALETTE, SEQUENTIAL_CMAP

__all__ = [
    "true_curve", "make_curve_data", "poly_fit", "poly_predict", "complexity_curve", "bias_variance",
    "double_descent", "capacity_widget", "make_moons_tensors", "mlp", "train_history",
    "PART_COLORS", "assignment", "plot_index_bars", "plot_learning_curves", "plot_confusion",
]

# ---------------------------------------------------------------- 1-D regression data and polynomials


def true_curve(x: np.ndarray) -> np.ndarray:
    r"""The noiseless target $f(x) = \sin(3x) + 0.3x$ on $[-1, 1]$."""
    return np.sin(3.0 * x) + 0.3 * x


def make_curve_data(n: int, noise: float = 0.3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    r"""n points $x \sim U(-1, 1)$, $y = f(x) + \varepsilon$ with $\varepsilon \sim N(0, \text{noise}^2)$."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 1.0, size=n)
    return x, true_curve(x) + rng.normal(0.0, noise, size=n)


def poly_fit(x: np.ndarray, y: np.ndarray, degree: int) -> np.ndarray:
    r"""Least-squares coefficients of a degree-d polynomial in the Legendre basis (well conditioned on [-1, 1]):
    $\hat c = \arg\min_c \lVert V_d(x)\,c - y\rVert^2$ (the minimum-norm solution when d + 1 > n)."""
    V = np.polynomial.legendre.legvander(x, degree)
    return np.linalg.lstsq(V, y, rcond=None)[0]


def poly_predict(coef: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Evaluate the Legendre series with coefficients `coef` at x."""
    return np.polynomial.legendre.legval(x, coef)


def complexity_curve(x_tr: np.ndarray, y_tr: np.ndarray, x_val: np.ndarray, y_val: np.ndarray,
                     degrees: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    r"""Training and validation MSE $\frac1n\sum(y - \hat y)^2$ of a polynomial fit for each degree."""
    train, val = [], []
    for d in degrees:
        c = poly_fit(x_tr, y_tr, d)
        train.append(np.mean((poly_predict(c, x_tr) - y_tr) ** 2))
        val.append(np.mean((poly_predict(c, x_val) - y_val) ** 2))
    return np.array(train), np.array(val)


def bias_variance(degrees: Sequence[int], n_train: int = 25, n_sets: int = 200, noise: float = 0.3,
                  seed: int = 0) -> dict[str, np.ndarray]:
    r"""Monte-Carlo bias–variance decomposition of polynomial regression.

    For each degree, fit `n_sets` independent training sets and evaluate on a grid $x_g$:
    $\text{bias}^2 = \overline{(\mathbb E[\hat f(x_g)] - f(x_g))^2}$, $\text{variance} = \overline{\operatorname{Var}[\hat f(x_g)]}$;
    expected test MSE $= \text{bias}^2 + \text{variance} + \sigma^2$.

    The squared error of the *sample* mean over the sets also contains $\operatorname{Var}/n_\text{sets}$, so the
    returned ``bias2`` is corrected for it: $\max(\text{raw} - \text{var}/(n_\text{sets} - 1), 0)$, with ``var``
    the (ddof = 0) sample variance; ``bias2_raw`` keeps the uncorrected value.
    """
    rng = np.random.default_rng(seed)
    grid = np.linspace(-0.95, 0.95, 200)
    xs = rng.uniform(-1.0, 1.0, size=(n_sets, n_train))
    ys = true_curve(xs) + rng.normal(0.0, noise, size=xs.shape)
    bias2, var = [], []
    for d in degrees:
        V = np.polynomial.legendre.legvander(xs, d)                 # (n_sets, n_train, d + 1)
        coefs = np.linalg.pinv(V) @ ys[:, :, None]                   # min-norm least squares, all sets at once
        preds = (np.polynomial.legendre.legvander(grid, d) @ coefs)[:, :, 0]
        bias2.append(np.mean((preds.mean(axis=0) - true_curve(grid)) ** 2))
        var.append(np.mean(preds.var(axis=0)))
    bias2_raw, var = np.array(bias2), np.array(var)
    bias2 = np.maximum(bias2_raw - var / (n_sets - 1), 0.0)
    return {"degree": np.asarray(degrees), "bias2": bias2, "bias2_raw": bias2_raw, "variance": var, "noise": np.full(len(degrees), noise ** 2),
            "expected_mse": bias2 + var + noise ** 2}


def double_descent(n_train: int = 30, widths: Sequence[int] = (), n_repeats: int = 10, noise: float = 0.3,
                   seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Random-ReLU-feature regression with the minimum-norm least-squares fit, as a function of the
    number of features p (a one-hidden-layer network whose first layer is frozen at random values):
    $\hat y = \mathrm{ReLU}(xW + b)\,\hat a$, $\hat a = \arg\min \lVert a\rVert$ s.t. the training MSE is minimal.
    Returns (widths, mean training MSE, mean test MSE) over `n_repeats` draws.
    """
    rng = np.random.default_rng(seed)
    widths = np.asarray(list(widths) or [2, 5, 10, 15, 20, 25, 28, 30, 32, 35, 40, 60, 100, 200, 400])
    x_test = np.linspace(-1.0, 1.0, 400)
    train_err = np.zeros(widths.size)
    test_err = np.zeros(widths.size)
    for _ in range(n_repeats):
        x = rng.uniform(-1.0, 1.0, size=n_train)
        y = true_curve(x) + rng.normal(0.0, noise, size=n_train)
        W = rng.normal(0.0, 3.0, size=int(widths.max()))
        b = rng.uniform(-3.0, 3.0, size=int(widths.max()))
        for i, p in enumerate(widths):
            feats = np.maximum(np.outer(x, W[:p]) + b[:p], 0.0)
            a = np.linalg.lstsq(feats, y, rcond=None)[0]
            train_err[i] += np.mean((feats @ a - y) ** 2) / n_repeats
            test_feats = np.maximum(np.outer(x_test, W[:p]) + b[:p], 0.0)
            test_err[i] += np.mean((test_feats @ a - true_curve(x_test)) ** 2) / n_repeats
    return widths, train_err, test_err


def capacity_widget(max_degree: int = 15, noise: float = 0.3, seed: int = 0):
    """Slider for the polynomial degree (capacity) and the training-set size: the fit on the left,
    the model-complexity graph on the right with the chosen degree marked."""
    import ipywidgets as widgets

    x_val, y_val = make_curve_data(300, noise, seed + 1)
    x_all, y_all = make_curve_data(400, noise, seed)
    grid = np.linspace(-1.0, 1.0, 400)
    degrees = np.arange(max_degree + 1)

    def show(degree: int = 3, n_train: int = 20) -> None:
        x, y = x_all[:n_train], y_all[:n_train]
        tr, va = complexity_curve(x, y, x_val, y_val, degrees)
        coef = poly_fit(x, y, degree)
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.6), layout="constrained")
        a1.scatter(x, y, s=18, color="C0", marker="o", label=f"{n_train} training points")
        a1.plot(grid, true_curve(grid), color="0.5", ls="--", label="true f(x)")
        a1.plot(grid, poly_predict(coef, grid), color="C3", ls="-", label=f"degree {degree} fit")
        a1.set(ylim=(-2.5, 2.5), xlabel="x", ylabel="y",
               title=f"train MSE {tr[degree]:.3f}, validation MSE {va[degree]:.3f}")
        a1.legend(loc="lower right", fontsize=8)
        a2.semilogy(degrees, tr, color="C0", ls="-", marker="o", label="training")
        a2.semilogy(degrees, va, color="C1", ls="--", marker="s", label="validation")
        a2.axvline(degree, color="C3", lw=1)
        a2.axhline(noise ** 2, color="0.5", ls=":", label="noise floor σ²")
        a2.set(xlabel="polynomial degree (capacity)", ylabel="MSE (log scale)",
               title=f"best validation degree: {int(np.argmin(va))}")
        a2.legend(fontsize=8)
        plt.show()

    return widgets.interact(
        show,
        degree=widgets.IntSlider(value=3, min=0, max=max_degree, description="degree", continuous_update=False),
        n_train=widgets.SelectionSlider(options=[10, 15, 20, 30, 50, 100, 200, 400], value=20,
                                        description="n train", continuous_update=False),
    )


# ---------------------------------------------------------------- small classification runs


def make_moons_tensors(n_train: int, n_val: int, n_test: int = 0, noise: float = 0.35, flip: float = 0.0,
                       seed: int = 0) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Two interleaving half-moons (scikit-learn's `make_moons`), optionally with a fraction `flip` of
    training labels flipped; split into float32 tensors {"train": (X, y), "val": …, "test": …}."""
    from sklearn.datasets import make_moons

    n = n_train + n_val + n_test
    X, y = make_moons(n_samples=n, noise=noise, random_state=seed)
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    X, y = X[order], y[order].astype(np.float64)
    flipped = rng.random(n_train) < flip
    y[:n_train] = np.where(flipped, 1 - y[:n_train], y[:n_train])
    bounds = {"train": (0, n_train), "val": (n_train, n_train + n_val), "test": (n_train + n_val, n)}
    return {k: (torch.tensor(X[a:b], dtype=torch.float32), torch.tensor(y[a:b], dtype=torch.float32))
            for k, (a, b) in bounds.items() if b > a}


def mlp(n_in: int, width: int, depth: int, n_out: int = 1) -> nn.Sequential:
    """`depth` hidden ReLU layers of `width` units, then a linear output (raw scores/logits)."""
    layers: list[nn.Module] = []
    d = n_in
    for _ in range(depth):
        layers += [nn.Linear(d, width), nn.ReLU()]
        d = width
    layers.append(nn.Linear(d, n_out))
    return nn.Sequential(*layers)


def _bce_and_accuracy(model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    with torch.no_grad():
        z = model(X).squeeze(1)
        loss = nn.functional.binary_cross_entropy_with_logits(z, y).item()
        return loss, ((z > 0).float() == y).float().mean().item()


def train_history(model: nn.Module, data: dict[str, tuple[torch.Tensor, torch.Tensor]], epochs: int,
                  lr: float = 1e-2, batch_size: int | None = None, seed: int = 0,
                  stopper: Any = None, progress: Callable | None = None) -> dict[str, Any]:
    """Adam on BCE-with-logits; per-epoch training/validation loss and accuracy.

    With a `stopper` (an EarlyStopping-like object: `step(value, model) -> bool`) training ends at the
    first epoch whose `step` returns True; the caller decides whether to restore. `progress` wraps the
    epoch range (e.g. `tqdm.auto.trange`).
    """
    g = torch.Generator().manual_seed(seed)
    Xtr, ytr = data["train"]
    Xva, yva = data["val"]
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    hist: dict[str, Any] = {"train_loss": [], "val_loss": [], "train_acc": [], "val_acc": [], "stopped_at": None}
    epochs_iter = progress(epochs) if progress else range(epochs)
    n = Xtr.shape[0]
    bs = batch_size or n
    for epoch in epochs_iter:
        model.train()
        order = torch.randperm(n, generator=g)
        for start in range(0, n, bs):
            idx = order[start:start + bs]
            loss = nn.functional.binary_cross_entropy_with_logits(model(Xtr[idx]).squeeze(1), ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        model.eval()
        for part, (X, y) in (("train", (Xtr, ytr)), ("val", (Xva, yva))):
            loss_value, acc = _bce_and_accuracy(model, X, y)
            hist[f"{part}_loss"].append(loss_value)
            hist[f"{part}_acc"].append(acc)
        if stopper is not None and stopper.step(hist["val_loss"][-1], model):
            hist["stopped_at"] = epoch
            break
    return {k: (np.array(v) if isinstance(v, list) else v) for k, v in hist.items()}


# ---------------------------------------------------------------- figures

#: The parts of a split, in the course palette (see `nb_helpers.plots`); unused samples in light grey.
PART_COLORS = {"train": PALETTE["blue"], "val": PALETTE["orange"], "test": PALETTE["green"], "unused": "0.85"}
_CODES = {"train": 0, "val": 1, "test": 2, "unused": 3}


def assignment(n: int, train: np.ndarray | None = None, val: np.ndarray | None = None,
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


def clone(model: nn.Module) -> nn.Module:
    """An independent copy of a model (weights included)."""
    return copy.deepcopy(model)
