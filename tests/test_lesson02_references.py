"""Lesson 02 references (splits, metrics, early stopping) against scikit-learn and the Keras semantics,
and the lesson-02 checks beyond the generic tests of tests/test_checks.py."""

from __future__ import annotations

import ast
import math
import random
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn import metrics as skm
from sklearn.model_selection import KFold, TimeSeriesSplit
from torch import nn

from nb_helpers import early_stopping as ES
from nb_helpers import metrics as M
from nb_helpers import splits as S
from nb_helpers.checks import lesson02_training as L2
from nb_helpers.checks.collection import collect
from nb_helpers.checks.declaration import REGISTRY
from nb_helpers.checks.judgement import judge
from nb_helpers.checks.kernel import run_check
from nb_helpers.checks.traps import resolve

ROOT = Path(__file__).resolve().parents[1]
LESSON02 = sorted((c for c in REGISTRY.values() if c.lesson == L2.LESSON), key=lambda c: c.id)


def as_sets(parts):
    return [set(map(int, p)) for p in parts]


# ---------------------------------------------------------------- hold-out splits

@pytest.mark.parametrize("n,val_frac,test_frac,sizes", [
    (1000, 0.1, 0.1, (800, 100, 100)),
    (25, 0.1, 0.3, (15, 2, 8)),      # round(2.5) == 2, round(7.5) == 8: halves go to even
    (19, 0.1, 0.2, (13, 2, 4)),      # round(1.9) == 2, round(3.8) == 4: not truncation
    (30, 0.2, 0.0, (24, 6, 0)),
    (10, 0.5, 0.5, (0, 5, 5)),
])
def test_train_val_test_split_sizes_use_python_round(n, val_frac, test_frac, sizes):
    parts = S.train_val_test_split(n, val_frac, test_frac, seed=0)
    assert tuple(p.size for p in parts) == sizes
    assert all(p.dtype == np.int64 for p in parts)


@pytest.mark.parametrize("n", [20, 57, 1000])
def test_train_val_test_split_is_a_partition_reproducible_per_seed(n):
    a, b, c = (S.train_val_test_split(n, 0.15, 0.2, seed=s) for s in (4, 4, 5))
    assert np.array_equal(np.sort(np.concatenate(a)), np.arange(n))
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert as_sets(a) != as_sets(c)


def test_train_val_test_split_rejects_fractions_that_leave_no_room():
    with pytest.raises(ValueError):
        S.train_val_test_split(10, 0.6, 0.5)


def test_stratified_split_reproduces_the_errata_example():
    y = np.random.default_rng(0).permutation(np.r_[np.ones(100), np.zeros(900)]).astype(np.int64)
    tr, va, te = S.stratified_split(y, 0.1, 0.1, seed=0)
    assert (tr.size, va.size, te.size) == (800, 100, 100)
    assert (y[tr].sum(), y[va].sum(), y[te].sum()) == (80, 10, 10)


def test_stratified_split_counts_per_class_with_python_round():
    y = np.repeat(np.arange(3), [25, 15, 35]).astype(np.int64)
    tr, va, te = S.stratified_split(y, 0.2, 0.1, seed=3)
    assert np.bincount(y[va], minlength=3).tolist() == [5, 3, 7]
    assert np.bincount(y[te], minlength=3).tolist() == [round(2.5), round(1.5), round(3.5)]  # [2, 2, 4]
    assert np.array_equal(np.sort(np.concatenate([tr, va, te])), np.arange(y.size))
    assert as_sets(S.stratified_split(y, 0.2, 0.1, seed=3)) == as_sets((tr, va, te))
    assert as_sets(S.stratified_split(y, 0.2, 0.1, seed=4)) != as_sets((tr, va, te))


# ---------------------------------------------------------------- k-fold and time series

@pytest.mark.parametrize("n", list(range(2, 41)))
def test_kfold_unshuffled_equals_sklearn_kfold(n):
    for k in range(2, n + 1):
        ours = S.kfold_indices(n, k)
        theirs = list(KFold(k).split(np.zeros(n)))
        assert len(ours) == k
        for (tr, va), (TR, VA) in zip(ours, theirs):
            assert np.array_equal(tr, TR) and np.array_equal(va, VA)


def test_kfold_sizes_match_sklearn_when_n_not_divisible():
    assert [va.size for _, va in S.kfold_indices(11, 5)] == [3, 2, 2, 2, 2]
    assert [va.size for _, va in S.kfold_indices(11, 5, shuffle=True, seed=0)] == [3, 2, 2, 2, 2]


@pytest.mark.parametrize("n,k", [(23, 4), (100, 10), (12, 12)])
def test_kfold_shuffled_is_a_partition_with_kfold_sizes_reproducible_per_seed(n, k):
    folds = S.kfold_indices(n, k, shuffle=True, seed=7)
    vals = [va for _, va in folds]
    assert np.array_equal(np.sort(np.concatenate(vals)), np.arange(n))
    for tr, va in folds:
        assert np.array_equal(np.sort(np.concatenate([tr, va])), np.arange(n))
    assert [v.size for v in vals] == [len(t) for _, t in KFold(k).split(np.zeros(n))]
    again = S.kfold_indices(n, k, shuffle=True, seed=7)
    assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(folds, again))
    other = S.kfold_indices(n, k, shuffle=True, seed=8)
    assert [set(v) for v in vals] != [set(v) for _, v in other]


@pytest.mark.parametrize("n,k", [(5, 1), (5, 6)])
def test_kfold_rejects_k_outside_2_to_n(n, k):
    with pytest.raises(ValueError):
        S.kfold_indices(n, k)


@pytest.mark.parametrize("n", list(range(3, 61)))
def test_time_series_split_equals_sklearn(n):
    for n_splits in range(2, n):
        for (tr, va), (TR, VA) in zip(S.time_series_split(n, n_splits), TimeSeriesSplit(n_splits).split(np.zeros(n))):
            assert np.array_equal(tr, TR) and np.array_equal(va, VA)


def test_time_series_split_reproduces_the_errata_example():
    splits = S.time_series_split(11, 3)
    assert [int(tr[-1]) for tr, _ in splits] == [4, 6, 8]
    assert [va.tolist() for _, va in splits] == [[5, 6], [7, 8], [9, 10]]


# ---------------------------------------------------------------- metrics against scikit-learn

Y10 = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
P10 = np.array([1, 1, 1, 0, 1, 1, 0, 0, 0, 0])


def _labels(rng, n, k):
    return rng.integers(0, k, n).astype(np.int64), rng.integers(0, k, n).astype(np.int64)


def test_classification_metrics_reproduce_the_errata_example():
    assert M.confusion_matrix(Y10, P10).tolist() == [[4, 2], [1, 3]]
    assert M.accuracy(Y10, P10) == pytest.approx(0.7)
    p, r, f1 = M.precision_recall_f1(Y10, P10)
    assert (p, r) == pytest.approx((0.6, 0.75))
    assert np.isclose(f1, skm.f1_score(Y10, P10)) and np.isclose(f1, 2 / 3)


@pytest.mark.parametrize("seed", range(20))
def test_classification_metrics_equal_sklearn(seed):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 6))
    y, p = _labels(rng, int(rng.integers(2, 80)), k)
    assert M.accuracy(y, p) == pytest.approx(skm.accuracy_score(y, p), rel=1e-12)
    kk = int(max(y.max(), p.max())) + 1
    assert np.array_equal(M.confusion_matrix(y, p), skm.confusion_matrix(y, p, labels=np.arange(kk)))
    assert M.confusion_matrix(y, p).dtype == np.int64
    assert np.array_equal(M.confusion_matrix(y, p, n_classes=k + 2), skm.confusion_matrix(y, p, labels=np.arange(k + 2)))
    for positive in range(k):
        expected = skm.precision_recall_fscore_support(y == positive, p == positive, average="binary", zero_division=0)[:3]
        assert np.allclose(M.precision_recall_f1(y, p, positive), expected, rtol=1e-12, atol=0)


@pytest.mark.parametrize("y,p", [
    (np.array([1, 1, 0, 0]), np.array([0, 0, 0, 0])),   # no predicted positives
    (np.array([0, 0, 0]), np.array([0, 1, 0])),         # no actual positives
    (np.array([0, 0]), np.array([0, 0])),               # neither
])
def test_precision_recall_f1_zero_division_matches_sklearn(y, p):
    expected = skm.precision_recall_fscore_support(y == 1, p == 1, average="binary", zero_division=0)[:3]
    assert M.precision_recall_f1(y, p) == pytest.approx(tuple(float(e) for e in expected))


def test_regression_metrics_reproduce_the_errata_example():
    y, p = np.array([3.0, -0.5, 2.0, 7.0]), np.array([2.5, 0.0, 2.0, 8.0])
    assert M.mse(y, p) == pytest.approx(0.375)
    assert M.mae(y, p) == pytest.approx(0.5)
    assert M.r2_score(y, p) == pytest.approx(0.948608, abs=1e-6)


@pytest.mark.parametrize("seed", range(20))
def test_regression_metrics_equal_sklearn(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 60))
    y = rng.normal(0, 3, n)
    p = y + rng.normal(0, rng.uniform(0.1, 6.0), n)
    assert M.mse(y, p) == pytest.approx(skm.mean_squared_error(y, p), rel=1e-12)
    assert M.mae(y, p) == pytest.approx(skm.mean_absolute_error(y, p), rel=1e-12)
    assert M.r2_score(y, p) == pytest.approx(skm.r2_score(y, p), rel=1e-10, abs=1e-12)


def test_r2_can_be_negative():
    y = np.array([1.0, 2.0, 3.0])
    assert M.r2_score(y, y[::-1]) == pytest.approx(skm.r2_score(y, y[::-1])) == pytest.approx(-3.0)


@pytest.mark.parametrize("constant", [2.0, -1.5, 0.0])
def test_r2_with_constant_y_true_follows_sklearn(constant):
    y = np.full(6, constant)
    assert M.r2_score(y, y.copy()) == skm.r2_score(y, y.copy()) == 1.0
    off = y + np.linspace(-1, 1, 6)
    assert M.r2_score(y, off) == skm.r2_score(y, off) == 0.0


@pytest.mark.parametrize("seed", range(15))
def test_roc_auc_equals_sklearn_with_ties(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.choice([2, 5, 30, 400, 5000]))
    y = rng.integers(0, 2, n)
    y[:2] = (0, 1)
    scores = np.round(rng.normal(0, 1, n) + y, int(rng.integers(0, 3)))   # rounding makes ties
    assert M.roc_auc(y, scores) == pytest.approx(skm.roc_auc_score(y, scores), rel=1e-10)


def test_roc_auc_counts_ties_half_and_needs_both_classes():
    assert M.roc_auc(np.array([1, 0, 1, 0]), np.full(4, 0.3)) == 0.5
    assert M.roc_auc(np.array([0, 1, 0, 1, 1]), np.array([0.5, 0.5, 0.2, 0.9, 0.2])) == pytest.approx(4 / 6)
    with pytest.raises(ValueError):
        M.roc_auc(np.array([1, 1]), np.array([0.1, 0.2]))


@pytest.mark.parametrize("seed", range(10))
def test_curve_points_equal_sklearn(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 300))
    y = rng.integers(0, 2, n)
    y[:2] = (0, 1)
    s = np.round(rng.normal(0, 1, n) + y, 1)
    fpr, tpr, thr = M.roc_curve_points(y, s)
    FPR, TPR, THR = skm.roc_curve(y, s, drop_intermediate=False)
    assert np.allclose(fpr, FPR) and np.allclose(tpr, TPR) and np.allclose(thr[1:], THR[1:])
    assert np.trapezoid(tpr, fpr) == pytest.approx(M.roc_auc(y, s))
    prec, rec, pthr = M.precision_recall_points(y, s)
    PREC, REC, PTHR = skm.precision_recall_curve(y, s)
    assert np.allclose(prec, PREC) and np.allclose(rec, REC) and np.allclose(pthr, PTHR)
    assert M.average_precision(y, s) == pytest.approx(skm.average_precision_score(y, s))


# ---------------------------------------------------------------- EarlyStopping

def keras_stop_epochs(values, patience, min_delta=0.0, mode="min"):
    """A line-by-line port of Keras 3's EarlyStopping.on_epoch_end decision (best starts at None).

    Returns (first epoch at which Keras sets stop_training, best_epoch at that point, best)."""
    best, best_epoch, wait = None, 0, 0
    sign = -1.0 if mode == "min" else 1.0
    delta = abs(min_delta) * sign

    def improved(v, ref):
        if ref is None:
            return True
        return (v - delta < ref) if mode == "min" else (v - delta > ref)

    for epoch, v in enumerate(values):
        wait += 1
        if improved(v, best):
            best, best_epoch, wait = v, epoch, 0
            continue
        if wait >= patience and epoch > 0:
            return epoch, best_epoch, best
    return None, best_epoch, best


def our_stop_epochs(values, **kwargs):
    s = ES.EarlyStopping(**kwargs)
    for epoch, v in enumerate(values):
        if s.step(v):
            return epoch, s.best_epoch, s.best
    return None, s.best_epoch, s.best


@pytest.mark.parametrize("seed", range(40))
def test_early_stopping_decisions_equal_keras_on_finite_values(seed):
    rng = np.random.default_rng(seed)
    values = list(np.round(rng.uniform(0, 2, int(rng.integers(3, 30))) * 8) / 8)
    kwargs = {"patience": int(rng.integers(1, 6)), "min_delta": float(rng.choice([0.0, 0.125, 0.25])),
              "mode": str(rng.choice(["min", "max"]))}
    assert our_stop_epochs(values, **kwargs) == keras_stop_epochs(values, **kwargs)


def test_nan_is_never_an_improvement_unlike_keras_first_epoch():
    values = [float("nan"), 1.0, 0.9, 0.8]
    keras_stop, keras_best_epoch, keras_best = keras_stop_epochs(values, patience=2)
    assert keras_stop == 2 and keras_best_epoch == 0 and math.isnan(keras_best)   # a NaN blocks Keras
    stop, best_epoch, best = our_stop_epochs(values, patience=2)
    assert stop is None and best_epoch == 3 and best == 0.8


def test_nan_only_increases_the_wait():
    s = ES.EarlyStopping(patience=2)
    assert s.step(float("nan")) is False and s.best == math.inf and s.best_epoch is None
    assert s.step(torch.tensor(float("nan"))) is True


def test_ties_are_not_improvements_and_min_delta_is_absolute():
    s = ES.EarlyStopping(patience=3, min_delta=0.25)
    s.step(2.0)
    s.step(1.75)             # exactly best - min_delta: not an improvement
    assert s.best_epoch == 0 and s.wait == 1
    s.step(1.5)
    assert s.best_epoch == 2 and s.wait == 0
    t = ES.EarlyStopping(patience=1)
    t.step(1.0)
    assert t.step(1.0) is True and t.best_epoch == 0


def test_mode_max_starts_at_minus_infinity():
    s = ES.EarlyStopping(patience=2, mode="max")
    assert s.best == -math.inf
    assert [s.step(v) for v in (0.5, 0.75, 0.75, 0.5)] == [False, False, False, True]
    assert (s.best, s.best_epoch) == (0.75, 1)


def test_zero_d_tensor_values_are_stored_as_floats_without_a_graph():
    w = torch.tensor(2.0, requires_grad=True)
    s = ES.EarlyStopping()
    s.step(w * 3)
    assert type(s.best) is float and s.best == 6.0


def _model(fill):
    m = nn.Linear(2, 1, dtype=torch.float64)
    with torch.no_grad():
        for p in m.parameters():
            p.fill_(fill)
    return m


def test_saved_state_is_a_deep_copy_of_the_best_epoch():
    model = _model(1.0)
    s = ES.EarlyStopping(patience=5)
    s.step(0.5, model)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(10.0)         # in place, like an optimizer step
    s.step(0.7, model)
    target = _model(-1.0)
    s.restore(target)
    assert all(torch.all(p == 1.0) for p in target.parameters())


def test_step_never_changes_the_model_even_when_it_stops():
    model = _model(3.0)
    s = ES.EarlyStopping(patience=1)
    s.step(1.0, model)
    with torch.no_grad():
        model.weight.fill_(4.0)
    assert s.step(2.0, model) is True
    assert torch.all(model.weight == 4.0)


@pytest.mark.parametrize("kwargs,with_model,values", [
    ({"restore_best_weights": False}, True, [1.0, 0.5]),
    ({}, False, [1.0, 0.5]),
    ({}, True, [float("nan")] * 3),
])
def test_restore_without_saved_state_raises_runtime_error(kwargs, with_model, values):
    s = ES.EarlyStopping(**kwargs)
    model = _model(0.0)
    for v in values:
        s.step(v, model if with_model else None)
    with pytest.raises(RuntimeError):
        s.restore(model)


def test_defaults_restore_and_wait_ten_epochs():
    s = ES.EarlyStopping()
    assert (s.patience, s.min_delta, s.mode, s.restore_best_weights) == (10, 0.0, "min", True)
    results = [s.step(v, _model(0.0)) for v in [3.0, 2.0] + [2.5] * 10]
    assert results == [False] * 11 + [True]
    s.restore(_model(5.0))


@pytest.mark.parametrize("kwargs", [{"mode": "auto"}, {"min_delta": -0.1}])
def test_invalid_arguments_raise(kwargs):
    with pytest.raises(ValueError):
        ES.EarlyStopping(**kwargs)


# ---------------------------------------------------------------- lesson-02 checks beyond the generic tests

def _quiet_pass(check, obj):
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()) as out:
        run_check(check, obj)
    return out.getvalue()


def tvt_random_module(n, val_frac=0.1, test_frac=0.1, seed=0):
    """Another RNG (Python's `random`), unsorted parts and a list instead of a tuple: still correct."""
    idx = list(range(n))
    random.Random(seed).shuffle(idx)
    n_val, n_test = round(n * val_frac), round(n * test_frac)
    idx = np.array(idx, dtype=np.int64)
    return [idx[n_val + n_test:], idx[:n_val], idx[n_val:n_val + n_test]]


def tvt_torch(n, val_frac=0.1, test_frac=0.1, seed=0):
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).numpy()
    n_val, n_test = round(n * val_frac), round(n * test_frac)
    return perm[n_val + n_test:], perm[:n_val], perm[n_val:n_val + n_test]


@pytest.mark.parametrize("answer", [tvt_random_module, tvt_torch])
def test_split_check_accepts_any_rng_and_any_order(answer):
    assert _quiet_pass(REGISTRY["train_val_test_split"], answer).endswith("checks passed\n")


def test_kfold_check_accepts_legacy_random_state():
    def kfold(n, k, shuffle=False, seed=None):
        order = np.random.RandomState(seed).permutation(n) if shuffle else np.arange(n)
        return [(np.setdiff1d(order, v), v) for v in np.array_split(order, k)]

    assert _quiet_pass(REGISTRY["kfold_indices"], kfold).endswith("checks passed\n")


def test_split_check_rejects_float_index_arrays_with_a_clear_message():
    def floats(n, val_frac=0.1, test_frac=0.1, seed=0):
        return tuple(p.astype(np.float64) for p in tvt_torch(n, val_frac, test_frac, seed))

    with pytest.raises(AssertionError, match="dtype float64; index arrays must be integers"):
        run_check(REGISTRY["train_val_test_split"], floats)


def test_early_stopping_check_accepts_other_correct_designs():
    class Stopper:
        """Keeps best as the tensor it was given and clones the state tensor by tensor."""

        def __init__(self, patience=10, min_delta=0.0, mode="min", restore_best_weights=True):
            self.patience, self.min_delta, self.mode, self.keep = patience, min_delta, mode, restore_best_weights
            self.best = torch.tensor(math.inf if mode == "min" else -math.inf, dtype=torch.float64)
            self.best_epoch, self.wait, self.i, self.state = None, 0, 0, None

        def step(self, value, model=None):
            v = torch.as_tensor(value, dtype=torch.float64)
            i, self.i = self.i, self.i + 1
            better = v < self.best - self.min_delta if self.mode == "min" else v > self.best + self.min_delta
            if bool(better):
                self.best, self.best_epoch, self.wait = v, i, 0
                if self.keep and model is not None:
                    self.state = {k: t.detach().clone() for k, t in model.state_dict().items()}
                return False
            self.wait += 1
            return self.wait >= self.patience

        def restore(self, model):
            if self.state is None:
                raise RuntimeError("nothing saved")
            model.load_state_dict(self.state)

    assert _quiet_pass(REGISTRY["EarlyStopping"], Stopper).endswith("checks passed\n")


def test_roc_auc_check_accepts_the_pairwise_answer_on_5000_samples():
    def pairwise(y, s):
        d = s[y == 1][:, None] - s[y == 0][None, :]
        return float(np.mean((d > 0) + 0.5 * (d == 0)))

    check = REGISTRY["roc_auc"]
    assert any(c.args[0].size == 5000 for c in check.all_cases(0) if c.random)
    assert _quiet_pass(check, pairwise).endswith("checks passed\n")


@pytest.mark.parametrize("check", [c for c in LESSON02 if c.probe is not None], ids=lambda c: c.id)
def test_hidden_failures_of_probe_checks_reveal_no_seed_sizes_or_counts(check):
    cases = [c for c in check.all_cases(11) if c.random]
    for wrong in check.wrong:
        verdict = judge(check, cases, collect(check, wrong.func, cases), redact=True)
        if verdict.passed:
            continue
        assert "hidden test case" in verdict.message
        finding = verdict.message.split("\nhint:")[0]                   # hints are fixed text
        assert not any(word in finding for word in ("seed=", "best=", "loaded the weights of step", "k=", "n_splits="))
        assert re.search(r"(train|val|test) \d", finding) is None       # no part sizes
        assert re.search(r"\[\s*-?\d", finding) is None                # no printed arrays of values


@pytest.mark.parametrize("check", [c for c in LESSON02 if c.probe is not None], ids=lambda c: c.id)
def test_probes_hide_the_reserved_keyword_from_answers(check):
    cases = [c for c in check.all_cases(3) if c.random]
    assert cases and all(c.kwargs.get("_hidden") is True for c in cases)
    outcomes = collect(check, check.reference, cases, trap=False)
    assert all(o["status"] == "ok" for o in outcomes)


@pytest.mark.parametrize("check", LESSON02, ids=lambda c: c.id)
def test_forbidden_callables_exist_so_the_traps_are_armed(check):
    missing = [name for name in check.forbidden if resolve(name) is None]
    assert missing == []


def test_check_module_imports_no_sklearn_at_import_time():
    tree = ast.parse(Path(L2.__file__).read_text())
    top = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    names = [a.name for n in top for a in n.names] + [n.module or "" for n in top if isinstance(n, ast.ImportFrom)]
    assert not any(name.startswith("sklearn") for name in names)


def test_confusion_matrix_check_shows_values_on_visible_cases():
    def transposed(y_true, y_pred, n_classes=None):
        k = n_classes if n_classes is not None else int(max(y_true.max(), y_pred.max())) + 1
        out = np.zeros((k, k), dtype=np.int64)
        np.add.at(out, (y_pred, y_true), 1)
        return out

    with pytest.raises(AssertionError) as info:
        run_check(REGISTRY["confusion_matrix"], transposed)
    assert "expected [[" in str(info.value) and "rows are the true classes" in str(info.value)


@pytest.mark.slow
@pytest.mark.parametrize("exercise", ["EarlyStopping", "kfold_indices", "roc_auc"])
def test_solution_notebook_passes_through_the_grading_path(exercise):
    """The fork-server child runs the notebook's setup and solution cells; the judge compares plain data."""
    import nbformat

    from nb_helpers.checks import outcome
    from nb_helpers.grading.cells import student_program
    from nb_helpers.grading.forkserver import handle

    path = ROOT / "solutions" / L2.LESSON / f"{L2.LESSON}.ipynb"
    if not path.exists():
        pytest.skip("solution notebook not generated")
    setup, cells = student_program(nbformat.read(path, as_version=4))
    seed = 2024
    reply = handle({"exercise": exercise, "seed": seed, "setup": setup, "cells": cells, "cwd": str(path.parent),
                    "timeout": 60, "memory_mb": 2048})
    assert reply["status"] == "ok", reply
    check = REGISTRY[exercise]
    cases = check.all_cases(seed)
    verdict = judge(check, cases, outcome.from_json(reply["payload"], len(cases)), redact=True)
    assert verdict.passed, verdict.message


def test_stratified_split_check_accepts_marking_taken_samples_in_a_copy():
    """The no-mutation wrong answer marks y itself; the same idea on y.copy() is correct."""
    from nb_helpers.checks.lesson02_training import _strat_marks_labels

    def split(y, val_frac=0.1, test_frac=0.1, seed=0):
        return _strat_marks_labels(y.copy(), val_frac, test_frac, seed)

    assert _quiet_pass(REGISTRY["stratified_split"], split).endswith("checks passed\n")


@pytest.mark.parametrize("variant", [L2._tvt_variant(), L2._strat_variant()], ids=["train_val_test_split", "stratified_split"])
def test_hold_out_checks_reject_a_default_seed_other_than_zero(variant):
    """The signature states seed=0: a call without `seed` must give the split of seed=0."""
    exercise = "train_val_test_split" if variant.__qualname__.startswith("_tvt") else "stratified_split"

    def shifted_default(first, val_frac=0.1, test_frac=0.1, seed=1):
        return variant(first, val_frac, test_frac, seed)

    with pytest.raises(AssertionError, match="a call without `seed` gave a different split from seed=0"):
        run_check(REGISTRY[exercise], shifted_default)


@pytest.mark.parametrize("guard", [
    lambda tp, fp, fn: (tp + fp > 1, tp + fn > 0),     # a single predicted positive counted as none
    lambda tp, fp, fn: (tp + fp > 0, tp + fn > 1),     # a single actual positive counted as none
    lambda tp, fp, fn: (tp - fp > 0, tp + fn > 0),     # precision 0 whenever TP <= FP
    lambda tp, fp, fn: (tp + fp > 0, tp - fn > 0),     # recall 0 whenever TP <= FN
])
def test_precision_recall_f1_check_pins_the_zero_division_guards(guard):
    def prf(y_true, y_pred, positive=1):
        t, p = y_true == positive, y_pred == positive
        tp, fp, fn = int(np.sum(t & p)), int(np.sum(~t & p)), int(np.sum(t & ~p))
        p_ok, r_ok = guard(tp, fp, fn)
        precision = tp / (tp + fp) if p_ok else 0.0
        recall = tp / (tp + fn) if r_ok else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
        return precision, recall, f1

    with pytest.raises(AssertionError):
        run_check(REGISTRY["precision_recall_f1"], prf)
