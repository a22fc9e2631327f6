"""Checks of lesson 02 (training neural networks: splits, early stopping, metrics): declarations only.

Split functions draw random indices with whatever generator the student likes, so their checks
probe *properties* (sizes, a partition of range(n), same seed → same split, other seed → other split)
instead of comparing indices. `EarlyStopping` is a class: its check replays a declared scenario
(construct, step, step, …, restore) on a tiny float64 model whose weights change between steps.

Probes describe what they observe as short sentences on visible cases (so the message says what went
wrong) and as numbers on hidden cases (the judge then reports the kind of failure but never the
values). Hidden-case arguments carry the reserved keyword `_hidden`, which the probes remove.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn

from .. import early_stopping as ES
from .. import metrics as M
from .. import splits as S
from .declaration import Case, Check, WrongAnswer, register
from .traps import DelegationError

LESSON = "02_training_neural_networks"

SPLIT_FORBIDDEN = tuple(f"sklearn.model_selection.{name}" for name in (
    "train_test_split", "KFold", "StratifiedKFold", "ShuffleSplit", "StratifiedShuffleSplit", "TimeSeriesSplit",
    "GroupKFold", "RepeatedKFold", "RepeatedStratifiedKFold", "LeaveOneOut", "PredefinedSplit",
)) + ("torch.utils.data.random_split", "nb_helpers.splits.fold_sizes")
METRIC_FORBIDDEN = tuple(f"sklearn.metrics.{name}" for name in (
    "accuracy_score", "balanced_accuracy_score", "confusion_matrix", "multilabel_confusion_matrix",
    "precision_recall_fscore_support", "precision_score", "recall_score", "f1_score", "fbeta_score",
    "classification_report", "mean_squared_error", "root_mean_squared_error", "mean_absolute_error",
    "median_absolute_error", "r2_score", "explained_variance_score", "roc_auc_score", "roc_curve", "auc",
    "average_precision_score", "precision_recall_curve",
))
TORCH_LOSSES = ("torch.nn.functional.mse_loss", "torch.nn.functional.l1_loss", "torch.nn.MSELoss", "torch.nn.L1Loss")
CURVE_HELPERS = ("nb_helpers.metrics.roc_curve_points", "nb_helpers.metrics.precision_recall_points",
                 "nb_helpers.metrics.average_precision",
                 "scipy.stats.mannwhitneyu")


def arr(*values: float) -> np.ndarray:
    return np.array(values, dtype=np.float64)


def ints(*values: int) -> np.ndarray:
    return np.array(values, dtype=np.int64)


def _hide(cases: list[Case]) -> list[Case]:
    """Mark family cases: their probes then report numbers instead of sentences (see module docstring)."""
    return [Case(c.args, {**dict(c.kwargs), "_hidden": True}, hint=c.hint, make=c.make) for c in cases]


def _unhide(kwargs: dict) -> tuple[bool, dict]:
    kwargs = dict(kwargs)
    return bool(kwargs.pop("_hidden", False)), kwargs


def _reraise_control(exc: BaseException) -> None:
    """Exceptions `collection` must see itself: blanks, delegation, interrupts."""
    if isinstance(exc, (NotImplementedError, DelegationError, KeyboardInterrupt)):
        raise exc


# ---------------------------------------------------------------- splits: shared observations

def _int_parts(result: Any, count: int | None, what: str) -> tuple[str, list[np.ndarray] | None]:
    """("ok", arrays) when `result` is a tuple/list of `count` integer arrays, else (description, None)."""
    if not isinstance(result, (tuple, list)):
        return f"a {type(result).__name__}, not {what}", None
    if count is not None and len(result) != count:
        return f"{len(result)} items, not {what}", None
    parts = []
    for i, part in enumerate(result):
        if not isinstance(part, np.ndarray):
            return f"item {i} is a {type(part).__name__}; return NumPy int64 arrays", None
        if part.dtype.kind not in "iu":
            return f"item {i} has dtype {part.dtype}; index arrays must be integers (int64)", None
        if part.ndim != 1:
            return f"item {i} has shape {part.shape}; index arrays are 1-D", None
        parts.append(part)
    return "ok", parts


def _partition(parts: list[np.ndarray], n: int) -> str:
    """Do the parts split range(n) exactly (every index once)?"""
    allidx = np.concatenate(parts) if parts else np.zeros(0, np.int64)
    if allidx.size and (allidx.min() < 0 or allidx.max() >= n):
        return "an index lies outside range(n)"
    counts = np.bincount(allidx, minlength=n) if allidx.size else np.zeros(n, np.int64)
    if (counts > 1).any():
        return "some index appears twice (in two parts, or twice in one part)"
    if (counts == 0).any():
        return "some index of range(n) is in no part"
    return "every index of range(n) is in exactly one part"


def _same_parts(a: list[np.ndarray], b: list[np.ndarray]) -> bool:
    return len(a) == len(b) and all(np.array_equal(np.sort(x), np.sort(y)) for x, y in zip(a, b))


def _seed_observations(call, seed: Any) -> dict[str, str]:
    """Call twice with `seed` and once with another seed; compare the parts as sets."""
    first, again, other = call(seed), call(seed), call(None if seed is None else seed + 1)
    obs = {"same seed": "the same seed gives the same split",
           "other seed": "a different seed gives a different split"}
    if first is None or again is None or not _same_parts(first, again):
        obs["same seed"] = "calling twice with the same seed gave different splits"
    if other is not None and first is not None and _same_parts(first, other):
        obs["other seed"] = "two different seeds gave the same split"
    return obs


def _default_seed_observation(call_default, call) -> str:
    """Is a call that leaves `seed` out the same split as seed=0 (the stated default)?"""
    default, zero = call_default(), call(0)
    if default is None or zero is None or not _same_parts(default, zero):
        return "a call without `seed` gave a different split from seed=0"
    return "a call without `seed` gives the split of seed=0"


def _span(a: np.ndarray) -> str:
    a = np.sort(a)
    if a.size == 0:
        return "nothing"
    if a.size > 1 and np.array_equal(a, np.arange(a[0], a[-1] + 1)):
        return f"{a[0]}..{a[-1]}"
    return np.array2string(a, threshold=12, edgeitems=4, separator=",").replace("\n", "")


# ---------------------------------------------------------------- train_val_test_split

def _probe_tvt(obj, args, kwargs):
    hidden, kwargs = _unhide(kwargs)
    n = args[0]
    rest = {k: v for k, v in kwargs.items() if k != "seed"}
    seed = kwargs.get("seed", 0)
    status, parts = _int_parts(obj(n, **rest, seed=seed), 3, "a tuple of 3 index arrays (train, val, test)")
    if parts is None:
        return {"structure": status}
    sizes = [p.size for p in parts]

    def call(s):
        return _int_parts(obj(n, **rest, seed=s), 3, "")[1]

    obs = {
        "structure": "three integer index arrays",
        "sizes": np.array(sizes) if hidden else f"train {sizes[0]}, val {sizes[1]}, test {sizes[2]}",
        "partition": _partition(parts, n),
        **_seed_observations(call, seed),
    }
    if "seed" not in kwargs:
        obs["default seed"] = _default_seed_observation(lambda: _int_parts(obj(n, **rest), 3, "")[1], call)
    return obs


def _tvt_variant(rounding=round, rng_of=np.random.default_rng, overlap=False):
    def split(n, val_frac=0.1, test_frac=0.1, seed=0):
        n_val, n_test = rounding(n * val_frac), rounding(n * test_frac)
        perm = rng_of(seed).permutation(n)
        val = perm[:n_val]
        test = perm[:n_test] if overlap else perm[n_val:n_val + n_test]
        return perm[n_val + n_test:], val, test
    return split


def _tvt_from_lists(n, val_frac=0.1, test_frac=0.1, seed=0):
    """Parts built as Python lists, converted with np.array at the end: an empty list becomes float64."""
    n_val, n_test = round(n * val_frac), round(n * test_frac)
    perm = list(np.random.default_rng(seed).permutation(n))
    return np.array(perm[n_val + n_test:]), np.array(perm[:n_val]), np.array(perm[n_val:n_val + n_test])


def _tvt_default_none(n, val_frac=0.1, test_frac=0.1, seed=None):
    return _tvt_variant()(n, val_frac, test_frac, seed)


class _GlobalRNG:
    """A wrong answer's 'generator': NumPy's global state, never seeded."""

    def __init__(self, seed):
        pass

    def permutation(self, n):
        return np.random.permutation(n)


def _tvt_delegate(n, val_frac=0.1, test_frac=0.1, seed=0):
    from sklearn.model_selection import train_test_split

    idx = np.arange(n)
    rest, test = train_test_split(idx, test_size=round(n * test_frac), random_state=seed)
    train, val = train_test_split(rest, test_size=round(n * val_frac), random_state=seed)
    return train, val, test


ROUND_HINT = "use Python's round(n * val_frac) and round(n * test_frac); int() truncates (int(1.9) == 1)."
HALF_EVEN_HINT = ("Python's round sends halves to the even neighbour (round(2.5) == 2, round(7.5) == 8); "
                  "use round(), not floor(x + 0.5).")
SEED_HINT = "create the generator inside the function from the seed: rng = np.random.default_rng(seed)."
DEFAULT_SEED_HINT = "the default is seed=0, so a call without `seed` must give the split of seed=0 (not a fresh random one)."
EMPTY_PART_HINT = ("np.array([]) of an empty list is float64: slice the int64 permutation directly (or pass "
                   "dtype=np.int64) so that an empty part is still an int64 index array.")

register(Check(
    id="train_val_test_split", lesson=LESSON, reference=S.train_val_test_split, result="plain",
    cases=[Case((100,), {"val_frac": 0.1, "test_frac": 0.1, "seed": 0}),
           Case((19,), {"val_frac": 0.1, "test_frac": 0.2, "seed": 1}, hint=ROUND_HINT),
           Case((25,), {"val_frac": 0.1, "test_frac": 0.3, "seed": 2}, hint=HALF_EVEN_HINT),
           Case((30,), {"val_frac": 0.2, "test_frac": 0.0, "seed": 3},
                hint="test_frac=0 gives an empty test part (an empty int64 array)."),
           Case((50,), {"seed": 7}, hint="the defaults are val_frac=0.1, test_frac=0.1."),
           Case((40,), {}, hint=DEFAULT_SEED_HINT)],
    families=lambda rng: _hide([
        Case((int(rng.integers(20, 400)),), {"val_frac": float(rng.choice([0.05, 0.1, 0.15, 0.2, 0.25])),
                                             "test_frac": float(rng.choice([0.05, 0.1, 0.15, 0.2, 0.3])),
                                             "seed": int(rng.integers(0, 10_000))})
        for _ in range(3)]),
    probe=_probe_tvt,
    forbidden=SPLIT_FORBIDDEN,
    delegate=_tvt_delegate,
    hint="n_val = round(n·val_frac), n_test = round(n·test_frac), the rest is training; draw one permutation "
         "with np.random.default_rng(seed) and cut it into three disjoint parts.",
    wrong=[WrongAnswer(_tvt_variant(rounding=int), ROUND_HINT, clause="value"),
           WrongAnswer(_tvt_variant(rounding=lambda x: math.floor(x + 0.5)), HALF_EVEN_HINT, clause="value"),
           WrongAnswer(_tvt_variant(rng_of=_GlobalRNG), SEED_HINT, clause="randomness"),
           WrongAnswer(_tvt_variant(rng_of=lambda seed: np.random.default_rng(0)),
                       "the split must depend on `seed`: pass it to np.random.default_rng(seed).",
                       clause="randomness"),
           WrongAnswer(_tvt_variant(overlap=True),
                       "take the validation and test indices from different stretches of the permutation "
                       "so that no index lands in two parts.", clause="value"),
           WrongAnswer(_tvt_from_lists, EMPTY_PART_HINT, clause="dtype"),
           WrongAnswer(_tvt_default_none, DEFAULT_SEED_HINT, clause="randomness")],
))


# ---------------------------------------------------------------- stratified_split

def _probe_stratified(obj, args, kwargs):
    hidden, kwargs = _unhide(kwargs)
    y = args[0]
    labels = y.copy()  # what the probe reads and later calls get: an answer that modifies y is reported by `collection`
    rest = {k: v for k, v in kwargs.items() if k != "seed"}
    seed = kwargs.get("seed", 0)
    status, parts = _int_parts(obj(y, **rest, seed=seed), 3, "a tuple of 3 index arrays (train, val, test)")
    if parts is None:
        return {"structure": status}
    y = labels
    n = y.size
    partition = _partition(parts, n)
    obs: dict[str, Any] = {"structure": "three integer index arrays", "partition": partition}
    if partition.startswith("an index lies outside"):
        return obs
    k = int(y.max()) + 1
    counts = np.stack([np.bincount(y[p], minlength=k) for p in parts])
    if hidden:
        obs["per-class counts"] = counts
    else:
        obs["per-class counts"] = "; ".join(
            f"{name} {counts[i].tolist()}" for i, name in enumerate(("train", "val", "test")))

    def call(s):
        return _int_parts(obj(labels.copy(), **rest, seed=s), 3, "")[1]

    obs.update(_seed_observations(call, seed))
    if "seed" not in kwargs:
        obs["default seed"] = _default_seed_observation(
            lambda: _int_parts(obj(labels.copy(), **rest), 3, "")[1], call)
    return obs


def _strat_delegate(y, val_frac=0.1, test_frac=0.1, seed=0):
    from sklearn.model_selection import train_test_split

    idx = np.arange(y.size)
    rest, test = train_test_split(idx, test_size=test_frac, stratify=y, random_state=seed)
    train, val = train_test_split(rest, test_size=val_frac / (1 - test_frac), stratify=y[rest], random_state=seed)
    return train, val, test


def _strat_variant(per_class=True, rounding=round, shuffle=True):
    def split(y, val_frac=0.1, test_frac=0.1, seed=0):
        rng = np.random.default_rng(seed)
        groups = [np.flatnonzero(y == c) for c in np.unique(y)] if per_class else [np.arange(y.size)]
        train, val, test = [], [], []
        for idx in groups:
            idx = rng.permutation(idx) if shuffle else idx
            nv, nt = rounding(idx.size * val_frac), rounding(idx.size * test_frac)
            val.append(idx[:nv])
            test.append(idx[nv:nv + nt])
            train.append(idx[nv + nt:])
        return tuple(np.concatenate(p).astype(np.int64) for p in (train, val, test))
    return split


def _strat_float_accumulator(y, val_frac=0.1, test_frac=0.1, seed=0):
    """Grows each part by concatenating onto np.array([]), which is float64: the indices become floats."""
    rng = np.random.default_rng(seed)
    train, val, test = np.array([]), np.array([]), np.array([])
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        nv, nt = round(idx.size * val_frac), round(idx.size * test_frac)
        val = np.concatenate([val, idx[:nv]])
        test = np.concatenate([test, idx[nv:nv + nt]])
        train = np.concatenate([train, idx[nv + nt:]])
    return train, val, test


def _strat_marks_labels(y, val_frac=0.1, test_frac=0.1, seed=0):
    """Marks the samples it sends to validation/test with -1 in `remaining`, which is y itself, not a copy."""
    rng = np.random.default_rng(seed)
    remaining = y
    val, test = [], []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(remaining == c))
        nv, nt = round(idx.size * val_frac), round(idx.size * test_frac)
        val.append(idx[:nv])
        test.append(idx[nv:nv + nt])
        remaining[idx[:nv + nt]] = -1
    return np.flatnonzero(remaining >= 0), np.concatenate(val), np.concatenate(test)


def _labels(*counts: int, seed: int = 0) -> np.ndarray:
    """Shuffled int64 labels with `counts[c]` samples of class c."""
    y = np.repeat(np.arange(len(counts)), counts).astype(np.int64)
    return np.random.default_rng(seed).permutation(y)


def _strat_family(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(3):
        counts = rng.integers(8, 80, size=int(rng.integers(2, 5)))
        y = rng.permutation(np.repeat(np.arange(counts.size), counts)).astype(np.int64)
        cases.append(Case((y,), {"val_frac": float(rng.choice([0.1, 0.15, 0.2, 0.25])),
                                 "test_frac": float(rng.choice([0.1, 0.2, 0.3])),
                                 "seed": int(rng.integers(0, 10_000))}))
    return _hide(cases)


register(Check(
    id="stratified_split", lesson=LESSON, reference=S.stratified_split, result="plain",
    cases=[Case((_labels(90, 10, seed=1),), {"val_frac": 0.1, "test_frac": 0.1, "seed": 0}),
           Case((_labels(25, 15, 35, seed=2),), {"val_frac": 0.2, "test_frac": 0.1, "seed": 5},
                hint="class c contributes round(n_c·val_frac) to validation — Python's round (round(2.5) == 2)."),
           Case((_labels(12, 30, seed=3),), {"seed": 4}),
           Case((_labels(20, 30, seed=4),), {"val_frac": 0.2, "test_frac": 0.2}, hint=DEFAULT_SEED_HINT)],
    families=_strat_family,
    probe=_probe_stratified,
    forbidden=SPLIT_FORBIDDEN,
    delegate=_strat_delegate,
    hint="for each class c: shuffle its indices with the seeded generator, send round(n_c·val_frac) to "
         "validation and round(n_c·test_frac) to test, the rest to training.",
    wrong=[WrongAnswer(_strat_marks_labels,
                       "`remaining = y` is not a copy: marking the samples already taken changes the caller's "
                       "labels; mark them in y.copy() or keep index arrays instead.", clause="no_mutation"),
           WrongAnswer(_strat_variant(per_class=False),
                       "a plain random split only keeps the class shares on average; apply the fractions "
                       "to each class separately (np.flatnonzero(y == c)).", clause="per_slice"),
           WrongAnswer(_strat_variant(rounding=int),
                       "use Python's round(n_c * val_frac) for each class; int() truncates.", clause="value"),
           WrongAnswer(_strat_variant(shuffle=False),
                       "choose each class's validation and test indices at random (rng.permutation), "
                       "not the first ones: the split must change with the seed.", clause="randomness"),
           WrongAnswer(_strat_float_accumulator,
                       "np.array([]) is float64, so concatenating onto it turns the indices into floats; collect "
                       "each part's pieces in a list and np.concatenate them once (int64).", clause="dtype")],
))


# ---------------------------------------------------------------- kfold_indices

def _probe_kfold(obj, args, kwargs):
    hidden, kwargs = _unhide(kwargs)
    n, k = args
    shuffle = kwargs.get("shuffle", False)
    seed = kwargs.get("seed")
    what = "a list of k (train, val) pairs" if hidden else f"a list of k={k} (train, val) pairs"

    def folds_of(result) -> tuple[str, list[tuple[np.ndarray, np.ndarray]] | None]:
        if not isinstance(result, list):
            return f"a {type(result).__name__}, not {what}", None
        if len(result) != k:
            return f"a list of {len(result)} items, not {what}", None
        pairs = []
        for i, pair in enumerate(result):
            status, arrays = _int_parts(pair, 2, "a (train, val) pair")
            if arrays is None:
                return f"fold {i}: {status}", None
            pairs.append((arrays[0], arrays[1]))
        return "ok", pairs

    status, folds = folds_of(obj(n, k, **kwargs))
    if folds is None:
        return {"structure": status}
    obs: dict[str, Any] = {"structure": f"{what} of integer index arrays"}
    vals = [v for _, v in folds]
    obs["validation folds"] = _partition(vals, n).replace("part", "validation fold")
    complement = "each training part is everything outside its validation fold"
    for i, (tr, va) in enumerate(folds):
        if _partition([tr, va], n) != "every index of range(n) is in exactly one part":
            complement = f"fold {i}: train and val are not complementary (train must be all the other indices)"
            break
    obs["train"] = complement
    sizes = [v.size for v in vals]
    obs["fold sizes"] = np.array(sizes) if hidden else ", ".join(map(str, sizes))
    if not shuffle:
        obs["folds"] = [np.sort(v) for v in vals] if hidden else " | ".join(_span(v) for v in vals)
        return obs
    blocks = _contiguous_folds(n, k)
    obs["shuffled"] = ("shuffle=True gave the consecutive blocks of the unshuffled split"
                       if _same_parts(vals, blocks) else "shuffle=True mixes the indices")

    def call(s):
        return folds_of(obj(n, k, shuffle=True, seed=s))[1]

    a, b, c = call(seed), call(seed), call(seed + 1)
    obs["same seed"] = ("the same seed gives the same folds" if a and b and _same_parts([v for _, v in a], [v for _, v in b])
                        else "calling twice with the same seed gave different folds")
    obs["other seed"] = ("two different seeds gave the same folds"
                         if a and c and _same_parts([v for _, v in a], [v for _, v in c])
                         else "a different seed gives different folds")
    return obs


def _contiguous_folds(n: int, k: int) -> list[np.ndarray]:
    """Validation blocks of the unshuffled KFold (computed here, not by the trapped reference)."""
    sizes = [n // k + (1 if i < n % k else 0) for i in range(k)]
    stops = np.cumsum(sizes)
    return [np.arange(stop - size, stop) for size, stop in zip(sizes, stops)]


def _kfold_variant(sizes_of=None, shuffle_ok=True, train_all=False):
    def kfold(n, k, shuffle=False, seed=None):
        order = np.random.default_rng(seed).permutation(n) if (shuffle and shuffle_ok) else np.arange(n)
        sizes = sizes_of(n, k) if sizes_of else [n // k + (1 if i < n % k else 0) for i in range(k)]
        out, start = [], 0
        for size in sizes:
            val = order[start:start + size]
            train = order.copy() if train_all else np.concatenate([order[:start], order[start + size:]])
            out.append((train, val))
            start += size
        return out
    return kfold


def _kfold_delegate(n, k, shuffle=False, seed=None):
    from sklearn.model_selection import KFold

    return list(KFold(k, shuffle=shuffle, random_state=seed if shuffle else None).split(np.zeros(n)))


def _kfold_family(rng: np.random.Generator) -> list[Case]:
    cases = []
    for shuffle in (False, True, bool(rng.integers(0, 2))):
        n = int(rng.integers(12, 120))
        k = int(rng.integers(2, min(n, 12) + 1))
        kw: dict[str, Any] = {"shuffle": True, "seed": int(rng.integers(0, 10_000))} if shuffle else {}
        cases.append(Case((n, k), kw))
    return _hide(cases)


register(Check(
    id="kfold_indices", lesson=LESSON, reference=S.kfold_indices, result="plain",
    cases=[Case((10, 5)),
           Case((11, 5), hint="as KFold, the first n % k folds get one extra sample: n=11, k=5 gives sizes 3, 2, 2, 2, 2."),
           Case((7, 7)),
           Case((23, 4), {"shuffle": True, "seed": 0},
                hint="with shuffle=True permute range(n) with np.random.default_rng(seed), then cut the permutation."),
           Case((30, 3), {"shuffle": True, "seed": 12})],
    families=_kfold_family,
    probe=_probe_kfold,
    forbidden=SPLIT_FORBIDDEN,
    delegate=_kfold_delegate,
    hint="cut range(n) (or a seeded permutation of it) into k consecutive blocks — the first n % k one sample "
         "longer; fold i validates on block i and trains on all the other indices.",
    wrong=[WrongAnswer(_kfold_variant(sizes_of=lambda n, k: [n // k] * (k - 1) + [n - (k - 1) * (n // k)]),
                       "as KFold, the first n % k folds get one extra sample (n=11, k=5: 3, 2, 2, 2, 2); "
                       "the last fold does not take the whole remainder.", clause="value"),
           WrongAnswer(_kfold_variant(shuffle_ok=False),
                       "with shuffle=True permute range(n) with np.random.default_rng(seed) before cutting the folds.",
                       clause="randomness"),
           WrongAnswer(_kfold_variant(train_all=True),
                       "train on everything *outside* the validation fold: a model must never train on the "
                       "samples it is validated on.", clause="value")],
))


# ---------------------------------------------------------------- time_series_split

def _probe_tss(obj, args, kwargs):
    hidden, kwargs = _unhide(kwargs)
    n, n_splits = args
    result = obj(n, n_splits, **kwargs)
    what = "a list of n_splits (train, val) pairs" if hidden else f"a list of n_splits={n_splits} (train, val) pairs"
    if not isinstance(result, list):
        return {"structure": f"a {type(result).__name__}, not {what}"}
    if len(result) != n_splits:
        return {"structure": f"a list of {len(result)} items, not {what}"}
    pairs = []
    for i, pair in enumerate(result):
        status, arrays = _int_parts(pair, 2, "a (train, val) pair")
        if arrays is None:
            return {"structure": f"split {i}: {status}"}
        pairs.append([np.sort(a) for a in arrays])
    obs: dict[str, Any] = {"structure": f"{what} of integer index arrays"}
    if hidden:
        obs["splits"] = pairs
    else:
        obs["splits"] = " | ".join(f"train {_span(tr)}, val {_span(va)}" for tr, va in pairs)
    return obs


def _tss_variant(size_of=lambda n, s: n // (s + 1), sliding=False, from_start=False):
    def tss(n, n_splits):
        m = size_of(n, n_splits)
        out = []
        for i in range(n_splits):
            start = (i + 1) * m if from_start else n - (n_splits - i) * m
            train = np.arange(start - m, start) if sliding else np.arange(start)
            out.append((train, np.arange(start, start + m)))
        return out
    return tss


def _tss_delegate(n, n_splits):
    from sklearn.model_selection import TimeSeriesSplit

    return list(TimeSeriesSplit(n_splits).split(np.zeros(n)))


register(Check(
    id="time_series_split", lesson=LESSON, reference=S.time_series_split, result="plain",
    cases=[Case((11, 3), hint="TimeSeriesSplit(3) on n=11: train 0..4 val 5..6, train 0..6 val 7..8, train 0..8 val 9..10."),
           Case((12, 3)),
           Case((20, 4)),
           Case((5, 4))],
    families=lambda rng: _hide([Case((int(n), int(rng.integers(2, min(n - 1, 10) + 1))))
                                for n in rng.integers(6, 200, size=3)]),
    probe=_probe_tss,
    forbidden=SPLIT_FORBIDDEN,
    delegate=_tss_delegate,
    hint="m = n // (n_splits + 1); split i validates on the m samples starting at n − (n_splits − i)·m and "
         "trains on every sample before them.",
    wrong=[WrongAnswer(_tss_variant(size_of=lambda n, s: n // s),
                       "each validation block has m = n // (n_splits + 1) samples (the first block only trains).",
                       clause="value"),
           WrongAnswer(_tss_variant(sliding=True),
                       "the training part grows: it is every sample before the validation block, not just the "
                       "previous block.", clause="value"),
           WrongAnswer(_tss_variant(from_start=True),
                       "the last validation block ends at the last sample; leftover samples (n mod (n_splits+1)) "
                       "go to the start of the first training part.", clause="value")],
))


# ---------------------------------------------------------------- EarlyStopping

def _fill(model: nn.Module, value: float) -> None:
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(value)


def _weights(model: nn.Module) -> np.ndarray:
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()]).numpy().copy()


def _tiny_model() -> nn.Module:
    return nn.Linear(2, 1, dtype=torch.float64)


def _fmt_number(x: Any) -> str:
    try:
        return repr(float(x))
    except Exception as exc:  # noqa: BLE001
        _reraise_control(exc)
        return f"<{type(x).__name__}>"


def _fmt_epoch(x: Any) -> str:
    if x is None:
        return "None"
    if isinstance(x, (int, np.integer)) and not isinstance(x, bool):
        return str(int(x))
    return f"<{type(x).__name__}>"


_MISSING = object()


def _probe_es(obj, args, kwargs):
    """Construct, feed the values one `step` at a time (weights of step i are all i + 1), then restore."""
    hidden, kwargs = _unhide(kwargs)
    values, how = args
    with_model = how == "step(v, model)"
    stopper = obj(**kwargs)
    model = _tiny_model()
    obs: dict[str, Any] = {}

    def state() -> tuple[Any, Any]:
        return getattr(stopper, "best", _MISSING), getattr(stopper, "best_epoch", _MISSING)

    best, epoch = state()
    if best is _MISSING or epoch is _MISSING:
        return {"attributes": "the object has no attribute " + ("`best`" if best is _MISSING else "`best_epoch`")}
    obs["attributes"] = "the object has .best and .best_epoch"
    if hidden:
        obs["start"] = np.array([float(best) if _numeric(best) else np.nan,
                                 -1.0 if epoch is None else (float(epoch) if _numeric(epoch) else -2.0)])
    else:
        obs["start"] = f"before any step: best={_fmt_number(best)}, best_epoch={_fmt_epoch(epoch)}"
    for i in range(len(values)):
        v = values[i]
        _fill(model, float(i + 1))
        before = _weights(model)
        ret = stopper.step(v, model) if with_model else stopper.step(v)
        changed = not np.array_equal(before, _weights(model))
        best, epoch = state()
        if isinstance(ret, (bool, np.bool_)):
            ret_text = repr(bool(ret))
        else:
            ret_text = "None" if ret is None else f"a {type(ret).__name__} (return a bool)"
        if hidden:
            code = float(bool(ret)) if isinstance(ret, (bool, np.bool_)) else -1.0
            obs[f"step {i}"] = np.array([code, float(best) if _numeric(best) else np.nan,
                                         -1.0 if epoch is None else (float(epoch) if _numeric(epoch) else -2.0),
                                         float(changed)])
        else:
            shown = f"tensor({float(v)!r})" if isinstance(v, torch.Tensor) else repr(float(v))
            call = f"step({shown}, model)" if with_model else f"step({shown})"
            obs[f"step {i}"] = (f"{call} returned {ret_text}; then best={_fmt_number(best)}, "
                                f"best_epoch={_fmt_epoch(epoch)}"
                                + ("; and it CHANGED the model's weights" if changed else ""))
    target = _tiny_model()
    _fill(target, -1.0)
    try:
        stopper.restore(target)
        w = _weights(target)
        if np.all(w == -1.0):
            code, text = -1.0, "restore(model) left the weights unchanged"
        elif np.all(w == w[0]) and float(w[0]).is_integer() and 1 <= w[0] <= len(values):
            code, text = float(w[0] - 1), f"restore(model) loaded the weights of step {int(w[0]) - 1}"
        else:
            code, text = -3.0, "restore(model) loaded weights that no step had"
    except BaseException as exc:  # noqa: BLE001 - what restore raises is the observation
        _reraise_control(exc)
        code = -2.0 if isinstance(exc, RuntimeError) else -4.0
        text = f"restore(model) raised {'RuntimeError' if code == -2.0 else type(exc).__name__}"
    obs["restore"] = np.array([code]) if hidden else text
    return obs


def _numeric(x: Any) -> bool:
    try:
        float(x)
        return True
    except Exception as exc:  # noqa: BLE001
        _reraise_control(exc)
        return False


class _Stopper:
    """A re-implementation for the wrong answers below (each overrides one detail)."""

    copy_state = True

    def __init__(self, patience=10, min_delta=0.0, mode="min", restore_best_weights=True):
        self.patience, self.min_delta, self.mode = patience, min_delta, mode
        self.restore_best_weights = restore_best_weights
        self.best = math.inf if mode == "min" else -math.inf
        self.best_epoch = None
        self.wait, self.calls, self.state = 0, 0, None

    def improved(self, v):
        if self.mode == "min":
            return v < self.best - self.min_delta
        return v > self.best + self.min_delta

    def save(self, model):
        import copy

        self.state = copy.deepcopy(model.state_dict()) if self.copy_state else model.state_dict()

    def step(self, value, model=None):
        v = float(value)
        epoch, self.calls = self.calls, self.calls + 1
        if not math.isnan(v) and self.improved(v):
            self.best, self.best_epoch, self.wait = v, epoch, 0
            if self.restore_best_weights and model is not None:
                self.save(model)
            return False
        self.wait += 1
        return self.stop()

    def stop(self):
        return self.wait >= self.patience

    def restore(self, model):
        if self.state is None:
            raise RuntimeError("nothing saved")
        model.load_state_dict(self.state)


class _TiesImprove(_Stopper):
    def improved(self, v):
        return v <= self.best - self.min_delta if self.mode == "min" else v >= self.best + self.min_delta


class _Aliased(_Stopper):
    copy_state = False


class _OffByOne(_Stopper):
    def stop(self):
        return self.wait > self.patience


class _NaNImproves(_Stopper):
    def step(self, value, model=None):
        v = float(value)
        epoch, self.calls = self.calls, self.calls + 1
        if not (v >= self.best - self.min_delta if self.mode == "min" else v <= self.best + self.min_delta):
            self.best, self.best_epoch, self.wait = v, epoch, 0
            if self.restore_best_weights and model is not None:
                self.save(model)
            return False
        self.wait += 1
        return self.stop()


class _IgnoresMode(_Stopper):
    def __init__(self, patience=10, min_delta=0.0, mode="min", restore_best_weights=True):
        super().__init__(patience, min_delta, "min", restore_best_weights)


class _SilentRestore(_Stopper):
    def restore(self, model):
        if self.state is not None:
            model.load_state_dict(self.state)


class _RestoresOnStop(_Stopper):
    def step(self, value, model=None):
        stop = super().step(value, model)
        if stop and model is not None and self.state is not None:
            model.load_state_dict(self.state)
        return stop


class _NoReset(_Stopper):
    def step(self, value, model=None):
        wait = self.wait
        stop = super().step(value, model)
        if self.wait == 0 and self.calls > 1:
            self.wait = wait
        return stop


class _Relative(_Stopper):
    def improved(self, v):
        if self.mode == "min":
            return v < self.best * (1 - self.min_delta) if math.isfinite(self.best) else True
        return v > self.best * (1 + self.min_delta) if math.isfinite(self.best) else True


def _es_case(values, how="step(v, model)", tensor=False, hint=None, **kwargs) -> Case:
    vals = torch.tensor(values, dtype=torch.float64) if tensor else np.array(values, dtype=np.float64)
    return Case((vals, how), kwargs, hint=hint)


def _es_family(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(4):
        length = int(rng.integers(5, 13))
        # a noisy U-shaped validation curve on a grid of exact binary fractions (ties happen)
        t = np.arange(length)
        u = 0.5 + 0.05 * (t - rng.integers(1, length)) ** 2 + rng.normal(0.0, 0.15, size=length)
        values = np.clip(np.round(u * 8) / 8, 0.125, 4.0)
        values[rng.random(length) < 0.1] = np.nan
        kwargs: dict[str, Any] = {"patience": int(rng.integers(1, 5)),
                                  "min_delta": float(rng.choice([0.0, 0.0625, 0.125])),
                                  "mode": str(rng.choice(["min", "max"]))}
        if kwargs["mode"] == "max":  # an accuracy-like curve: rises, then falls
            values = 4.125 - values
        if rng.random() < 0.2:
            kwargs["restore_best_weights"] = False
        how = "step(v)" if rng.random() < 0.2 else "step(v, model)"
        vals = torch.from_numpy(values) if rng.random() < 0.3 else values
        cases.append(Case((vals, how), kwargs))
    return _hide(cases)


ES_HINT = ("call i is an improvement iff the value is not NaN and value < best − min_delta (mode 'min') or "
           "value > best + min_delta (mode 'max'); then best = value, best_epoch = i, wait = 0 and save a deep "
           "copy of model.state_dict(); otherwise wait += 1 and return wait >= patience.")

register(Check(
    id="EarlyStopping", lesson=LESSON, reference=ES.EarlyStopping, result="plain", expects="class",
    cases=[_es_case([1.0, 0.8, 0.9, 0.85, 0.7, 0.75, 0.8], patience=2),
           _es_case([1.0, 1.0, 1.0, 0.5], patience=2,
                    hint="a value equal to the best is not an improvement (strictly smaller is needed)."),
           _es_case([2.0, 1.75, 1.5, 1.25, 1.0, 0.5], patience=3, min_delta=0.25,
                    hint="with min_delta = 0.25 a value must be below best − 0.25 to count."),
           _es_case([float("nan"), 1.0, float("nan"), float("nan"), 0.5], patience=3,
                    hint="a NaN is never an improvement: it only increases the wait."),
           _es_case([0.5, 0.625, 0.625, 0.75, 0.5, 0.5], patience=2, mode="max",
                    hint="mode='max' monitors something to maximise (e.g. accuracy): best starts at -inf."),
           _es_case([0.5, 0.625, 0.6875, 0.875, 0.875], patience=1, mode="max", min_delta=0.125),
           _es_case([0.5, 0.25, 0.375, 0.125], tensor=True, patience=1,
                    hint="step also receives 0-d tensors (e.g. loss.detach()); float(value) handles both."),
           _es_case([1.0, 0.5, 0.75], patience=5, restore_best_weights=False,
                    hint="with restore_best_weights=False nothing is saved, so restore must raise RuntimeError."),
           _es_case([1.0, 0.5, 0.75], how="step(v)", patience=5,
                    hint="without a model nothing can be saved: restore must raise RuntimeError."),
           _es_case([float("nan"), float("nan")], patience=2,
                    hint="all values NaN: best stays inf, best_epoch None, nothing saved."),
           _es_case([3.0, 2.0] + [2.5] * 10,
                    hint="the defaults are patience=10, min_delta=0.0, mode='min', restore_best_weights=True.")],
    families=_es_family,
    probe=_probe_es,
    delegate=lambda **kw: ES.EarlyStopping(**kw),
    hint=ES_HINT,
    wrong=[WrongAnswer(_TiesImprove, "a value equal to best (or within min_delta of it) is not an improvement: "
                                     "use a strict comparison, value < best − min_delta.", clause="value"),
           WrongAnswer(_Aliased, "model.state_dict() returns references to the live weights, so the saved 'best' "
                                 "follows every later update; save copy.deepcopy(model.state_dict()).",
                       clause="state"),
           WrongAnswer(_OffByOne, "stop as soon as the wait reaches patience: return wait >= patience.", clause="value"),
           WrongAnswer(_NaNImproves, "every comparison with NaN is False, so `not (value >= best)` lets a NaN "
                                     "through as an improvement; test for NaN (math.isnan(float(value))) first.",
                       clause="value"),
           WrongAnswer(_IgnoresMode, "in mode='max' larger is better: best starts at -inf and an improvement is "
                                     "value > best + min_delta.", clause="value"),
           WrongAnswer(_SilentRestore, "restore(model) must raise RuntimeError when no weights were saved, not "
                                       "return silently.", clause="errors"),
           WrongAnswer(_RestoresOnStop, "step must never change the model: restoring is the caller's explicit "
                                        "restore(model) call.", clause="no_mutation"),
           WrongAnswer(_NoReset, "reset wait to 0 on every improvement: patience counts consecutive epochs "
                                 "without improvement.", clause="state"),
           WrongAnswer(_Relative, "min_delta is an absolute amount: compare value < best − min_delta, not a "
                                  "relative change.", clause="value")],
))


# ---------------------------------------------------------------- classification metrics

def _labels_pair(rng: np.random.Generator, n: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    y = rng.integers(0, k, size=n).astype(np.int64)
    flip = rng.random(n) < 0.4
    p = np.where(flip, rng.integers(0, k, size=n), y).astype(np.int64)
    return y, p


def _class_family(rng: np.random.Generator, count: int = 4) -> list[Case]:
    out = []
    for _ in range(count):
        y, p = _labels_pair(rng, int(rng.integers(2, 60)), int(rng.integers(2, 6)))
        out.append(Case((y, p)))
    return out


Y10 = ints(1, 1, 1, 1, 0, 0, 0, 0, 0, 0)
P10 = ints(1, 1, 1, 0, 1, 1, 0, 0, 0, 0)

TENSOR_HINT = "return a Python float (float(t) or t.item()), not a 0-d torch tensor."


def _acc_in_place(y_true, y_pred):
    y_pred -= y_true  # the caller's predictions become the differences
    return float(np.mean(y_pred == 0))


def _acc_torch(y_true, y_pred):
    return (torch.from_numpy(y_pred) == torch.from_numpy(y_true)).double().mean()

register(Check(
    id="accuracy", lesson=LESSON, reference=M.accuracy, result="float",
    cases=[Case((ints(0, 1, 2, 2, 1), ints(0, 2, 2, 2, 0))),
           Case((Y10, P10)),
           Case((ints(3, 3), ints(3, 3)))],
    families=_class_family,
    forbidden=METRIC_FORBIDDEN,
    delegate=lambda y, p: __import__("sklearn.metrics", fromlist=["accuracy_score"]).accuracy_score(y, p),
    hint="accuracy = (number of positions where y_pred == y_true) / n.",
    wrong=[WrongAnswer(_acc_in_place, "`y_pred -= y_true` overwrites the caller's predictions; compare them "
                                      "without modifying them (y_true == y_pred).", clause="no_mutation"),
           WrongAnswer(lambda y, p: float(np.sum(y == p)), "divide the number of correct predictions by n.",
                       clause="value"),
           WrongAnswer(lambda y, p: 100.0 * np.mean(y == p), "return a fraction in [0, 1], not a percentage.",
                       clause="value"),
           WrongAnswer(lambda y, p: float(np.mean(y != p)), "that is the error rate; accuracy counts the matches.",
                       clause="value"),
           WrongAnswer(_acc_torch, TENSOR_HINT, clause="dtype")],
))


def _probe_confusion(obj, args, kwargs):
    hidden, kwargs = _unhide(kwargs)
    out = obj(*args, **kwargs)
    integer = isinstance(out, np.ndarray) and out.dtype.kind in "iu"
    if hidden:
        return {"integer counts": "an integer array" if integer else "not an integer array",
                "counts": out if isinstance(out, np.ndarray) else np.zeros(0)}
    if isinstance(out, np.ndarray) and not integer:
        return f"a {out.dtype} array; counts are integers"
    return out


def _cm_variant(transpose=False, dtype=np.int64, k_of=None, buffered=False):
    def cm(y_true, y_pred, n_classes=None):
        k = k_of(y_true, y_pred, n_classes) if k_of else (
            n_classes if n_classes is not None else int(max(y_true.max(), y_pred.max())) + 1)
        out = np.zeros((k, k), dtype=dtype)
        rows, cols = (y_pred, y_true) if transpose else (y_true, y_pred)
        if buffered:
            out[rows, cols] += 1
        else:
            np.add.at(out, (rows, cols), 1)
        return out
    return cm


def _cm_flat_in_place(y_true, y_pred, n_classes=None):
    k = n_classes if n_classes is not None else int(max(y_true.max(), y_pred.max())) + 1
    flat = y_true  # not a copy: the caller's labels become flat indices
    flat *= k
    flat += y_pred
    return np.bincount(flat, minlength=k * k).reshape(k, k)


def _cm_family(rng: np.random.Generator) -> list[Case]:
    cases = _class_family(rng, 3)
    y, p = _labels_pair(rng, int(rng.integers(2, 40)), 3)
    cases.append(Case((y, p), {"n_classes": int(rng.integers(4, 7))}))
    y, p = _labels_pair(rng, int(rng.integers(3, 40)), 4)
    cases.append(Case((np.where(y == 1, 0, y), np.where(p == 1, 3, p))))  # label 1 never occurs
    return _hide(cases)


register(Check(
    id="confusion_matrix", lesson=LESSON, reference=M.confusion_matrix, result="plain",
    cases=[Case((ints(0, 1, 2, 2, 1, 0), ints(0, 2, 2, 2, 0, 1))),
           Case((Y10, P10), hint="for y=[1,1,1,1,0,0,0,0,0,0] and ŷ=[1,1,1,0,1,1,0,0,0,0]: TN=4, FP=2, FN=1, TP=3."),
           Case((ints(0, 2, 2), ints(0, 0, 2)), hint="class 1 never occurs but still gets a row and a column."),
           Case((ints(1, 0, 1), ints(1, 1, 1)), {"n_classes": 4})],
    families=_cm_family,
    probe=_probe_confusion,
    forbidden=METRIC_FORBIDDEN,
    delegate=lambda y, p, n_classes=None: __import__("sklearn.metrics", fromlist=["confusion_matrix"]).confusion_matrix(
        y, p, labels=np.arange(n_classes if n_classes is not None else max(y.max(), p.max()) + 1)),
    hint="C[j, k] counts the samples of true class j predicted as k; K = n_classes or max label + 1.",
    wrong=[WrongAnswer(_cm_flat_in_place,
                       "`flat = y_true` is not a copy, so `flat *= K` changes the caller's labels; compute "
                       "y_true * K + y_pred into a new array.", clause="no_mutation"),
           WrongAnswer(_cm_variant(transpose=True),
                       "rows are the true classes and columns the predicted ones: count C[y_true[i], y_pred[i]].",
                       clause="value"),
           WrongAnswer(_cm_variant(dtype=np.float64),
                       "counts are integers: create the matrix with dtype=np.int64 (np.zeros defaults to float64).",
                       clause="dtype"),
           WrongAnswer(_cm_variant(buffered=True),
                       "C[y_true, y_pred] += 1 adds 1 only once per repeated (true, predicted) pair; use "
                       "np.add.at(C, (y_true, y_pred), 1) or a loop.", clause="value"),
           WrongAnswer(_cm_variant(k_of=lambda y, p, n: n if n is not None else len(np.union1d(y, p))),
                       "K = n_classes when given, else max(y_true.max(), y_pred.max()) + 1: a class that never "
                       "occurs still gets its row and column.", clause="shape"),
           WrongAnswer(_cm_variant(k_of=lambda y, p, n: int(max(y.max(), p.max())) + 1),
                       "use n_classes when it is given (labels 0..n_classes−1 may not all occur).", clause="shape")],
))


def _probe_prf(obj, args, kwargs):
    hidden, kwargs = _unhide(kwargs)
    out = obj(*args, **kwargs)
    if not isinstance(out, (tuple, list)) or len(out) != 3:
        what = f"{len(out)} values" if isinstance(out, (tuple, list)) else f"a {type(out).__name__}"
        return {"structure": f"{what}; expected (precision, recall, f1)"} if hidden else \
            f"{what}; return the tuple (precision, recall, f1)"
    values = np.array([float(v) for v in out], dtype=np.float64)
    return {"structure": "(precision, recall, f1)", "values": values} if hidden else values


def _prf_variant(swap=False, ignore_positive=False, arithmetic=False, zero="ok"):
    def prf(y_true, y_pred, positive=1):
        pos = 1 if ignore_positive else positive
        t, p = y_true == pos, y_pred == pos
        tp, fp, fn = np.sum(t & p), np.sum(~t & p), np.sum(t & ~p)
        if zero == "python":
            tp, fp, fn = int(tp), int(fp), int(fn)
        if zero == "ok":
            precision = tp / (tp + fp) if tp + fp else 0.0
            recall = tp / (tp + fn) if tp + fn else 0.0
        else:
            precision, recall = tp / (tp + fp), tp / (tp + fn)
        if swap:
            precision, recall = recall, precision
        if arithmetic:
            f1 = (precision + recall) / 2
        else:
            f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return float(precision), float(recall), float(f1)
    return prf


def _prf_binarized_in_place(y_true, y_pred, positive=1):
    for a in (y_true, y_pred):
        a[:] = a == positive  # one-vs-rest labels written over the caller's arrays
    return _prf_variant()(y_true, y_pred, 1)


def _prf_family(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(4):
        k = int(rng.integers(2, 5))
        y, p = _labels_pair(rng, int(rng.integers(2, 60)), k)
        cases.append(Case((y, p), {"positive": int(rng.integers(0, k))}))
    y, p = _labels_pair(rng, int(rng.integers(4, 30)), 3)
    cases.append(Case((y, np.where(p == 2, 0, p)), {"positive": 2}))  # class 2 is never predicted
    y, p = _labels_pair(rng, int(rng.integers(3, 9)), 3)  # few positives: counts of 0, 1 and TP <= FP, FN
    cases.append(Case((y, p), {"positive": int(rng.integers(0, 3))}))
    return _hide(cases)


ZERO_DIV = "return 0.0 where a denominator is 0 (no predicted positives → precision 0; no actual positives → recall 0)."

register(Check(
    id="precision_recall_f1", lesson=LESSON, reference=M.precision_recall_f1, result="plain",
    cases=[Case((ints(1, 1, 0, 1, 0, 0), ints(1, 0, 1, 1, 0, 0)), hint="TP=2, FP=1, FN=1: precision 2/3, recall 2/3."),
           Case((Y10, P10), hint="TP=3, FP=2, FN=1: precision 0.6, recall 0.75, F1 2/3."),
           Case((ints(0, 1, 2, 2, 1, 0), ints(0, 2, 2, 2, 0, 1)), {"positive": 2},
                hint="one-vs-rest: class `positive` is 'positive', every other class 'negative'."),
           Case((ints(1, 1, 0, 0), ints(0, 0, 0, 0)), hint=ZERO_DIV),
           Case((ints(0, 0, 0), ints(0, 1, 0)), hint=ZERO_DIV),
           Case((ints(1, 1, 1, 0, 0, 0), ints(1, 0, 0, 1, 1, 0)), hint="TP=1, FP=2, FN=2: precision, recall and F1 are 1/3."),
           Case((ints(0, 1, 0, 2), ints(2, 1, 0, 0)),
                hint="TP=1, FP=0, FN=0: one predicted positive, and it is right: precision = recall = F1 = 1.")],
    families=_prf_family,
    probe=_probe_prf,
    forbidden=METRIC_FORBIDDEN,
    delegate=lambda y, p, positive=1: tuple(
        __import__("sklearn.metrics", fromlist=["precision_recall_fscore_support"]).precision_recall_fscore_support(
            y == positive, p == positive, average="binary", zero_division=0)[:3]),
    hint="precision = TP/(TP+FP), recall = TP/(TP+FN), F1 = 2PR/(P+R), counting class `positive` against the rest.",
    wrong=[WrongAnswer(_prf_binarized_in_place,
                       "`y_true[:] = y_true == positive` overwrites the caller's labels; compare into new "
                       "arrays instead (t = y_true == positive).", clause="no_mutation"),
           WrongAnswer(_prf_variant(swap=True),
                       "precision divides by the predicted positives (TP + FP), recall by the actual positives (TP + FN).",
                       clause="value"),
           WrongAnswer(_prf_variant(ignore_positive=True), "use the `positive` argument instead of the label 1.",
                       clause="value"),
           WrongAnswer(_prf_variant(arithmetic=True), "F1 is the harmonic mean 2PR/(P + R), not (P + R)/2.",
                       clause="value"),
           WrongAnswer(_prf_variant(zero="python"), ZERO_DIV, clause="value"),
           WrongAnswer(_prf_variant(zero="numpy"), ZERO_DIV, clause="value")],
))


# ---------------------------------------------------------------- regression metrics

def _reg_family(rng: np.random.Generator, count: int = 4) -> list[Case]:
    out = []
    for _ in range(count):
        n = int(rng.integers(2, 50))
        y = rng.normal(0.0, 3.0, size=n)
        out.append(Case((y, y + rng.normal(0.0, float(rng.uniform(0.1, 4.0)), size=n))))
    return out


Y4, P4 = arr(3.0, -0.5, 2.0, 7.0), arr(2.5, 0.0, 2.0, 8.0)


def _mse_in_place(y_true, y_pred):
    y_pred -= y_true  # the residual written over the caller's predictions
    return float(np.mean(y_pred ** 2))


def _mae_in_place(y_true, y_pred):
    err = y_true  # not a copy
    err -= y_pred
    np.abs(err, out=err)
    return float(err.mean())

register(Check(
    id="mse", lesson=LESSON, reference=M.mse, result="float",
    cases=[Case((Y4, P4)), Case((arr(1.0, 2.0), arr(1.0, 2.0))), Case((arr(0.0, 0.0, 0.0), arr(1.0, -2.0, 3.0)))],
    families=_reg_family,
    forbidden=METRIC_FORBIDDEN + TORCH_LOSSES,
    delegate=lambda y, p: __import__("sklearn.metrics", fromlist=["mean_squared_error"]).mean_squared_error(y, p),
    hint="MSE = mean of (y_true − y_pred)².",
    wrong=[WrongAnswer(_mse_in_place, "`y_pred -= y_true` overwrites the caller's predictions; compute the "
                                      "residual into a new array (d = y_true − y_pred).", clause="no_mutation"),
           WrongAnswer(lambda y, p: float(np.sqrt(np.mean((y - p) ** 2))), "that is the RMSE: MSE has no square root.",
                       clause="value"),
           WrongAnswer(lambda y, p: float(np.sum((y - p) ** 2)), "take the mean over the samples, not the sum.",
                       clause="value"),
           WrongAnswer(lambda y, p: float(np.mean(y - p) ** 2), "square each difference first, then average.",
                       clause="value"),
           WrongAnswer(lambda y, p: np.mean((y - p) ** 2, keepdims=True),
                       "keepdims=True returns an array of shape (1,); return a single float (float(np.mean(...))).",
                       clause="dtype")],
))

register(Check(
    id="mae", lesson=LESSON, reference=M.mae, result="float",
    cases=[Case((Y4, P4)), Case((arr(1.0, -1.0), arr(-1.0, 1.0))), Case((arr(0.0, 0.0, 0.0), arr(1.0, -2.0, 6.0)))],
    families=_reg_family,
    forbidden=METRIC_FORBIDDEN + TORCH_LOSSES,
    delegate=lambda y, p: __import__("sklearn.metrics", fromlist=["mean_absolute_error"]).mean_absolute_error(y, p),
    hint="MAE = mean of |y_true − y_pred|.",
    wrong=[WrongAnswer(_mae_in_place, "`err = y_true` is not a copy, so `err -= y_pred` and np.abs(err, out=err) "
                                      "overwrite the caller's targets; compute np.abs(y_true − y_pred) into a new "
                                      "array.", clause="no_mutation"),
           WrongAnswer(lambda y, p: float(np.mean(y - p)), "take the absolute value of each difference: "
                                                           "positive and negative errors must not cancel.",
                       clause="value"),
           WrongAnswer(lambda y, p: float(np.median(np.abs(y - p))), "average the absolute errors (mean, not median).",
                       clause="value"),
           WrongAnswer(lambda y, p: float(np.sum(np.abs(y - p))), "take the mean over the samples, not the sum.",
                       clause="value"),
           WrongAnswer(lambda y, p: torch.abs(torch.from_numpy(y) - torch.from_numpy(p)).mean(), TENSOR_HINT,
                       clause="dtype")],
))


def _r2_naive(y, p):
    return float(1 - np.sum((y - p) ** 2) / np.sum((y - np.mean(y)) ** 2))


def _r2_pred_mean(y, p):
    den = np.sum((p - np.mean(p)) ** 2)
    return float(1 - np.sum((y - p) ** 2) / den) if den else (1.0 if np.all(y == p) else 0.0)


def _r2_safe(y, p):
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    ss_res = float(np.sum((y - p) ** 2))
    if ss_tot == 0.0:
        return 1.0 if ss_res == 0.0 else 0.0
    return 1.0 - ss_res / ss_tot


def _r2_centres_in_place(y_true, y_pred):
    ss_res = float(np.sum((y_true - y_pred) ** 2))
    y_true -= y_true.mean()  # centred in the caller's array
    ss_tot = float(np.sum(y_true ** 2))
    if ss_tot == 0.0:
        return 1.0 if ss_res == 0.0 else 0.0
    return 1.0 - ss_res / ss_tot


def _r2_keepdims(y_true, y_pred):
    ss_res = np.sum((y_true - y_pred) ** 2, keepdims=True)
    ss_tot = np.sum((y_true - y_true.mean()) ** 2, keepdims=True)
    if ss_tot == 0:
        return 1.0 if ss_res == 0 else 0.0
    return 1.0 - ss_res / ss_tot


def _r2_family(rng: np.random.Generator) -> list[Case]:
    cases = _reg_family(rng, 3)
    n = int(rng.integers(2, 20))
    c = float(rng.integers(-8, 9)) / 2  # exactly representable: the mean of n copies is exact
    y = np.full(n, c)
    exact = bool(rng.integers(0, 2))
    cases.append(Case((y, y.copy() if exact else y + rng.normal(0, 1, size=n))))
    return cases


CONST_HINT = ("with a constant y_true the denominator Σ(y − ȳ)² is 0: return 1.0 if the predictions are exact and "
              "0.0 otherwise (as scikit-learn).")

register(Check(
    id="r2_score", lesson=LESSON, reference=M.r2_score, result="float",
    cases=[Case((Y4, P4)),
           Case((arr(1.0, 2.0, 3.0), arr(3.0, 2.0, 1.0)), hint="R² is negative when the model is worse than predicting the mean."),
           Case((arr(2.0, 2.0, 2.0), arr(2.0, 2.0, 2.0)), hint=CONST_HINT),
           Case((arr(2.0, 2.0, 2.0), arr(1.0, 2.0, 3.0)), hint=CONST_HINT)],
    families=_r2_family,
    forbidden=METRIC_FORBIDDEN,
    delegate=lambda y, p: __import__("sklearn.metrics", fromlist=["r2_score"]).r2_score(y, p),
    hint="R² = 1 − Σ(y − ŷ)² / Σ(y − ȳ)², with ȳ the mean of y_true.",
    warning_hint=CONST_HINT,
    wrong=[WrongAnswer(_r2_centres_in_place, "`y_true -= y_true.mean()` centres the caller's array in place; "
                                             "compute y_true − y_true.mean() into a new array.", clause="no_mutation"),
           WrongAnswer(_r2_naive, CONST_HINT, clause="value"),
           WrongAnswer(_r2_pred_mean, "the denominator measures the spread of y_true around its own mean: Σ(y − ȳ)².",
                       clause="value"),
           WrongAnswer(lambda y, p: max(0.0, _r2_safe(y, p)),
                       "do not clip: R² is negative when the model does worse than always predicting ȳ.",
                       clause="value"),
           WrongAnswer(lambda y, p: float(np.corrcoef(y, p)[0, 1] ** 2) if np.std(y) and np.std(p) else _r2_safe(y, p),
                       "R² is 1 − SS_res/SS_tot, not the squared correlation (which ignores bias and scale errors).",
                       clause="value"),
           WrongAnswer(_r2_keepdims, "keepdims=True makes the sums, and so R², arrays of shape (1,); return a "
                                     "single float.", clause="dtype")],
))


# ---------------------------------------------------------------- roc_auc

def _auc_pairs(y, s, tie):
    pos, neg = s[y == 1], s[y == 0]
    diff = pos[:, None] - neg[None, :]
    return float(((diff > 0) + tie * (diff == 0)).mean())


def _auc_sorts_in_place(y_true, scores):
    """Mann-Whitney with mid-ranks, but `scores.sort()` reorders the caller's array."""
    ys = y_true[np.argsort(scores, kind="stable")]
    scores.sort()
    _, start, counts = np.unique(scores, return_index=True, return_counts=True)
    ranks = np.repeat(start + (counts + 1) / 2, counts)  # 1-based mean rank of each tie group
    n_pos = int(ys.sum())
    n_neg = ys.size - n_pos
    return float((ranks[ys == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _auc_torch(y_true, scores):
    y, s = torch.from_numpy(y_true), torch.from_numpy(scores)
    diff = s[y == 1][:, None] - s[y == 0][None, :]
    return ((diff > 0).double() + 0.5 * (diff == 0).double()).mean()


def _auc_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for n, decimals in ((int(rng.integers(4, 40)), 1), (int(rng.integers(40, 400)), 2), (5000, 2)):
        y = (rng.random(n) < rng.uniform(0.1, 0.6)).astype(np.int64)
        y[:2] = (0, 1)
        scores = np.round(rng.normal(0, 1, n) + 1.2 * y, decimals)
        cases.append(Case((y, scores)))
    return cases


register(Check(
    id="roc_auc", lesson=LESSON, reference=M.roc_auc, result="float",
    cases=[Case((ints(0, 0, 1, 1), arr(0.1, 0.4, 0.35, 0.8)), hint="3 of the 4 (positive, negative) pairs are ordered correctly."),
           Case((ints(0, 1, 0, 1, 1), arr(0.5, 0.5, 0.2, 0.9, 0.2)),
                hint="a tied (positive, negative) pair counts one half."),
           Case((ints(1, 0, 1, 0), arr(0.3, 0.3, 0.3, 0.3)), hint="all scores tied: AUC = 0.5."),
           Case((ints(1, 1, 0), arr(-2.0, -1.0, 0.0)), hint="every positive scores below every negative: AUC = 0.")],
    families=_auc_cases,
    forbidden=METRIC_FORBIDDEN + CURVE_HELPERS,
    delegate=lambda y, s: __import__("sklearn.metrics", fromlist=["roc_auc_score"]).roc_auc_score(y, s),
    hint="AUC = fraction of (positive, negative) pairs in which the positive has the higher score, ties counting ½.",
    wrong=[WrongAnswer(_auc_sorts_in_place, "scores.sort() sorts the caller's array in place; use np.sort(scores) "
                                            "or np.argsort(scores), which return new arrays.", clause="no_mutation"),
           WrongAnswer(lambda y, s: _auc_pairs(y, s, 0.0), "tied scores count one half, not zero.", clause="value"),
           WrongAnswer(lambda y, s: _auc_pairs(y, s, 1.0), "tied scores count one half, not one.", clause="value"),
           WrongAnswer(lambda y, s: 1.0 - _auc_pairs(y, s, 0.5),
                       "count the pairs in which the *positive* sample has the higher score.", clause="value"),
           WrongAnswer(lambda y, s: float(np.mean((s >= 0.5) == (y == 1))),
                       "AUC ranks the scores over all thresholds; it is not the accuracy at threshold 0.5.",
                       clause="value"),
           WrongAnswer(_auc_torch, TENSOR_HINT, clause="dtype")],
))
