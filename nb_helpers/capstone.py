r"""The capstone of lesson 04: train a digits classifier end to end, judged on digits it never saw.

scikit-learn's 8×8 digits (1797 images, pixel values 0–16) are split once, by a fixed permutation,
into two pools that never change:

* the *seen* pool (`SEEN` images): what `train_digits(X_train, y_train, X_val, y_val, seed)` receives,
  split per student (per seed) into training and validation arrays (`split_pool`);
* the *unseen* pool (the other `UNSEEN` images): the function never receives them. A test set is
  drawn from it per seed (`hidden_test_set`): `TEST_SIZE` of its images with light Gaussian noise on the
  inked pixels ($\sigma$ = `NOISE` on the 0–16 scale, clipped to [0, 16]; the blank background stays
  0) — noise that moves a sensible recipe's accuracy by under a point; a shift by one pixel would turn
  the task into a robustness test.

The notebook's check scores the *visible* test set (the public practice seed); grading scores a
*hidden* one drawn the same way from the instructor's seed. `train_digits` is the reference recipe
(a small MLP, AdamW, a warm-up + cosine schedule stepped per batch, early stopping on the validation
loss); `calibrate` measures it and the plain-SGD baseline on several seeds and students' test sets:
the table the lesson publishes with the threshold and the time limit.
"""

from __future__ import annotations

import copy
import functools
import math
import time
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn

__all__ = ["N_IMAGES", "SEEN", "UNSEEN", "TEST_SIZE", "VAL_FRACTION", "NOISE", "MAX_PARAMETERS", "THRESHOLD",
           "TIME_LIMIT_S", "seen_pool", "split_pool", "hidden_test_set", "draw_case_seed", "practice_arrays", "practice_seed",
           "visible_test_set",
           "count_parameters", "accuracy", "predict", "train_digits", "train_sgd_baseline", "calibrate", "REFERENCE",
           "SGD_BASELINE",
           "format_table"]

N_IMAGES = 1797                 # scikit-learn's digits
UNSEEN = 597                    # images the function never receives (a third)
SEEN = N_IMAGES - UNSEEN        # 1200: training + validation
VAL_FRACTION = 0.2              # of the seen pool, per seed
TEST_SIZE = 400                 # images of a test set, drawn from the unseen pool per seed
NOISE = 1.0                     # standard deviation of the noise on inked pixels (0–16 scale)
PARTITION_SEED = 20240604       # the fixed permutation that makes the two pools
MAX_PARAMETERS = 100_000
THRESHOLD = 0.95                # accuracy a model must reach on the test set (calibrated: `calibrate`)
TIME_LIMIT_S = 60.0             # seconds the grader lets train_digits run (one thread)


@functools.lru_cache(maxsize=1)
def _digits() -> tuple[np.ndarray, np.ndarray]:
    """All 1797 images as float32 pixel values 0–16 and their int64 labels (read-only arrays)."""
    from .minibatches import digits_arrays

    X, y = digits_arrays(np.float64)
    X = np.rint(X * 16.0).astype(np.float32)  # back to the data set's own 0–16 integers
    X.flags.writeable = False
    y.flags.writeable = False
    return X, y


@functools.lru_cache(maxsize=1)
def _partition() -> tuple[np.ndarray, np.ndarray]:
    """(seen indices, unseen indices): disjoint, together every image once, fixed for good."""
    order = np.random.default_rng(PARTITION_SEED).permutation(N_IMAGES)
    seen, unseen = np.sort(order[:SEEN]), np.sort(order[SEEN:])
    seen.flags.writeable = False
    unseen.flags.writeable = False
    return seen, unseen


def seen_pool() -> tuple[np.ndarray, np.ndarray]:
    """The seen pool: (X float32 (1200, 64), y int64 (1200,)), new arrays."""
    X, y = _digits()
    seen, _ = _partition()
    return X[seen].copy(), y[seen].copy()


def split_pool(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(X_train, y_train, X_val, y_val): the seen pool shuffled by `default_rng(seed)` and cut into
    training and validation rows (`VAL_FRACTION` of them for validation); new arrays."""
    X, y = seen_pool()
    order = np.random.default_rng(seed).permutation(len(X))
    n_val = int(round(VAL_FRACTION * len(X)))
    val, train = order[:n_val], order[n_val:]
    return X[train], y[train], X[val], y[val]


def hidden_test_set(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(X_test float32 (TEST_SIZE, 64), y_test int64): `TEST_SIZE` images of the unseen pool chosen by
    `default_rng(seed)`, each inked (non-zero) pixel plus N(0, NOISE²) noise, clipped to [0, 16]; the
    blank background stays 0."""
    X, y = _digits()
    _, unseen = _partition()
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(unseen, size=TEST_SIZE, replace=False))
    clean = X[chosen].astype(np.float64)
    noise = rng.normal(0.0, NOISE, size=clean.shape)
    noisy = np.where(clean > 0, np.clip(clean + noise, 0.0, 16.0), 0.0)  # the background stays blank
    return noisy.astype(np.float32), y[chosen].copy()


def draw_case_seed(rng: np.random.Generator) -> int:
    """The seed of one check of `train_digits`, drawn from the check's generator: `split_pool(seed % 2**32)`
    gives its arrays, `hidden_test_set(seed)` its test set and `seed % 10_000` its training seed."""
    return int(rng.integers(0, 2**62))


def _practice_case_seed() -> int:
    from .checks.declaration import practice_seed

    return draw_case_seed(np.random.default_rng(practice_seed("train_digits")))


def practice_arrays() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The training and validation arrays the notebook's check hands to `train_digits` (public seed)."""
    return split_pool(_practice_case_seed() % 2**32)


def practice_seed() -> int:
    """The training seed the notebook's check passes to `train_digits`."""
    return _practice_case_seed() % 10_000


def visible_test_set() -> tuple[np.ndarray, np.ndarray]:
    """The test set the notebook's check scores (public seed; grading draws a hidden one the same way)."""
    return hidden_test_set(_practice_case_seed())


def count_parameters(model: nn.Module) -> int:
    """Number of trainable and frozen parameter entries of `model` (each shared tensor once)."""
    return int(sum(p.numel() for p in model.parameters()))


@torch.no_grad()
def predict(model: nn.Module, X: np.ndarray) -> np.ndarray:
    """The class `model` predicts for each float32 row of `X` (argmax of its logits), in eval mode."""
    model.eval()
    return model(torch.tensor(np.asarray(X, dtype=np.float32))).argmax(dim=1).numpy()


def accuracy(predictions: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of predictions equal to the labels."""
    return float(np.mean(np.asarray(predictions) == np.asarray(labels)))


# ------------------------------------------------------------------ recipes

class _Standardize(nn.Module):
    """Subtract the training pixels' mean and divide by their standard deviation (fixed buffers)."""

    def __init__(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("mean", mean)
        self.register_buffer("std", std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


def _warmup_cosine(step: int, total: int, warmup: int, lr_max: float, lr_min: float = 0.0) -> float:
    """Linear warm-up to lr_max over `warmup` updates, then half a cosine down to lr_min at `total`."""
    if step < warmup:
        return lr_max * step / warmup
    if step >= total:
        return lr_min
    p = (step - warmup) / (total - warmup)
    return lr_min + (lr_max - lr_min) * (1.0 + math.cos(math.pi * p)) / 2.0


def train_digits(X_train: np.ndarray, y_train: np.ndarray, X_val: np.ndarray, y_val: np.ndarray,
                 seed: int = 0, hidden: int = 256, epochs: int = 60, batch_size: int = 64, lr: float = 3e-3,
                 weight_decay: float = 0.1, warmup_epochs: int = 2, patience: int = 10,
                 history: list | None = None) -> nn.Module:
    """The reference recipe, the same as the lesson's solution cell: a one-hidden-layer MLP (inputs
    standardised with the training pixels' statistics, dropout 0.1) trained with AdamW on mini-batches
    shuffled per epoch (`default_rng(1000 * seed + epoch)`, the lesson's `iterate_minibatches`), the
    learning rate warmed up then decayed along a cosine per update, stopped early when the validation loss
    has not improved for `patience` epochs, the best weights restored. Returns the model in eval mode
    (float32 (N, 64) in, (N, 10) logits out). With `history`, appends (epoch, training loss, validation
    loss, validation accuracy) per epoch."""
    Xt, yt = torch.tensor(X_train, dtype=torch.float32), torch.tensor(y_train, dtype=torch.int64)
    Xv, yv = torch.tensor(X_val, dtype=torch.float32), torch.tensor(y_val, dtype=torch.int64)
    std = Xt.std(dim=0)
    torch.manual_seed(seed)
    scale = _Standardize(Xt.mean(dim=0), torch.where(std > 0, std, torch.ones_like(std)))
    model = nn.Sequential(scale, nn.Linear(64, hidden), nn.ReLU(), nn.Dropout(0.1), nn.Linear(hidden, 10))
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    loss_fn = nn.CrossEntropyLoss()
    per_epoch = -(-len(Xt) // batch_size)
    total, warmup = epochs * per_epoch, warmup_epochs * per_epoch
    best, best_state, waited, step = math.inf, None, 0, 0
    for epoch in range(epochs):
        model.train()
        order = torch.from_numpy(np.random.default_rng(1000 * seed + epoch).permutation(len(Xt)))
        running = 0.0
        for start in range(0, len(Xt), batch_size):
            idx = order[start:start + batch_size]
            for group in opt.param_groups:
                group["lr"] = _warmup_cosine(step, total, warmup, lr)
            loss = loss_fn(model(Xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            running += loss.item() * len(idx)
        model.eval()
        with torch.no_grad():
            logits = model(Xv)
            val_loss = loss_fn(logits, yv).item()
        if history is not None:
            history.append((epoch, running / len(Xt), val_loss, float((logits.argmax(1) == yv).float().mean())))
        if val_loss < best:
            best, best_state, waited = val_loss, copy.deepcopy(model.state_dict()), 0
        else:
            waited += 1
            if waited >= patience:
                break
    if best_state is not None:
        model.load_state_dict(best_state)
    return model.eval()


REFERENCE = "reference = the solution cell (AdamW, warm-up + cosine, early stopping)"
SGD_BASELINE = "plain SGD, lr 0.01, 2 epochs (batch 32, hidden 128, pixels / 16)"


def train_sgd_baseline(X_train: np.ndarray, y_train: np.ndarray, X_val: np.ndarray, y_val: np.ndarray,
                       seed: int = 0, epochs: int = 2, lr: float = 0.01, batch_size: int = 32) -> nn.Module:
    """The recipe that must fail, as the capstone's contract states it: plain SGD at lr 0.01 for two epochs, on the
    pixels scaled to [0, 1] as a beginner would (divided by 16), a 64 → 128 → 10 ReLU network (not the
    reference's), batches of 32, no schedule, no early stopping (the validation arrays are not used)."""
    gen = torch.Generator().manual_seed(seed)
    Xt, yt = torch.tensor(X_train, dtype=torch.float32), torch.tensor(y_train, dtype=torch.int64)
    torch.manual_seed(seed)
    model = nn.Sequential(_Divide(16.0), nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(epochs):
        order = torch.randperm(len(Xt), generator=gen)
        for start in range(0, len(Xt), batch_size):
            idx = order[start:start + batch_size]
            loss = loss_fn(model(Xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model.eval()


class _Divide(nn.Module):
    """Divide the inputs by a constant (the baseline's pixel scaling)."""

    def __init__(self, by: float) -> None:
        super().__init__()
        self.by = by

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x / self.by


# ------------------------------------------------------------------ calibration

def calibrate(recipes: dict[str, Callable[..., nn.Module]] | None = None, seeds: Sequence[int] = range(5),
              students: Sequence[int] = (0, 1, 2), clean: bool = False) -> list[dict]:
    """Train each recipe once per seed on one thread and score it on the test sets of several
    students: per (recipe, seed) a row with the training seconds and the lowest and mean accuracy over
    the students' test sets (each student `s` gets the split `split_pool(s)` and `hidden_test_set(1000 + s)`;
    with `clean`, also the accuracy on the same images without noise). Each recipe is run once untimed
    first, so the seconds leave out the first call's one-off costs."""
    recipes = recipes or {REFERENCE: train_digits, SGD_BASELINE: train_sgd_baseline}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    rows = []
    try:
        for name, recipe in recipes.items():
            recipe(*split_pool(students[0]), seed=seeds[0])   # warm-up run, not timed
            for seed in seeds:
                accs, clean_accs, seconds = [], [], []
                for student in students:
                    X_train, y_train, X_val, y_val = split_pool(student)
                    torch.manual_seed(seed)
                    start = time.perf_counter()
                    model = recipe(X_train, y_train, X_val, y_val, seed=seed)
                    seconds.append(time.perf_counter() - start)
                    X_test, y_test = hidden_test_set(1000 + student)
                    accs.append(accuracy(predict(model, X_test), y_test))
                    if clean:
                        X, _ = _digits()
                        clean_accs.append(accuracy(predict(model, X[_clean_rows(1000 + student)]), y_test))
                row = {"recipe": name, "seed": seed, "min_accuracy": min(accs), "mean_accuracy": float(np.mean(accs)),
                       "max_accuracy": max(accs),
                       "seconds": max(seconds), "parameters": count_parameters(model)}
                if clean:
                    row["clean_mean_accuracy"] = float(np.mean(clean_accs))
                rows.append(row)
    finally:
        torch.set_num_threads(threads)
    return rows


def _clean_rows(seed: int) -> np.ndarray:
    """The unseen-pool indices `hidden_test_set(seed)` draws (the same images without their noise)."""
    _, unseen = _partition()
    return np.sort(np.random.default_rng(seed).choice(unseen, size=TEST_SIZE, replace=False))


def format_table(rows: list[dict]) -> str:
    """The calibration rows as a Markdown table."""
    lines = ["| recipe | seed | lowest accuracy | mean accuracy | highest accuracy | seconds (slowest) |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['recipe']} | {r['seed']} | {r['min_accuracy']:.3f} | {r['mean_accuracy']:.3f} | "
                     f"{r['max_accuracy']:.3f} | {r['seconds']:.2f} |")
    return "\n".join(lines)
