"""Lesson 02's model-selection references against oracles from other hands: scikit-learn's
`cross_val_score`, `KFold`, `LeaveOneOut` and `GridSearchCV` on the same folds, a percentile bootstrap
written here (its own percentile interpolation included), scipy's paired percentile bootstrap, and the
coverage of a bootstrap interval on data whose true value is known; then the lesson's demo helpers
(the vectorised selection-bias experiment against the graded references, repeat by repeat)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.metrics import mean_squared_error, r2_score
from sklearn.model_selection import GridSearchCV, KFold, LeaveOneOut, cross_val_score
from sklearn.neighbors import KNeighborsRegressor

from nb_helpers import complexity
from nb_helpers import metrics as M
from nb_helpers import model_selection as MS
from nb_helpers import splits as S

RTOL, ATOL = 1e-7, 1e-12          # the checks' default tolerance
SEEDS = range(4)


def _data(seed: int, n: int, d: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(0.0, 1.0, size=(n, d))
    return X, X @ rng.normal(0.0, 1.0, size=d) + np.sin(X[:, 0]) + rng.normal(0.0, 0.3, size=n)


def _fit_predict(estimator):
    """A fit_predict around a fresh scikit-learn estimator."""
    def fit_predict(X_train, y_train, X_val):
        return estimator.__class__(**estimator.get_params()).fit(X_train, y_train).predict(X_val)
    return fit_predict


# ---------------------------------------------------------------- cross_val_score

@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("estimator", [LinearRegression(), Ridge(alpha=3.0), KNeighborsRegressor(4)],
                         ids=lambda e: type(e).__name__)
def test_cross_val_score_equals_sklearn_cross_val_score_on_the_same_folds(estimator, seed):
    n, k = 37 + seed, 3 + seed
    X, y = _data(seed, n)
    folds = S.kfold_indices(n, k, shuffle=True, seed=seed)
    mse_sk = -cross_val_score(estimator, X, y, cv=folds, scoring="neg_mean_squared_error")
    np.testing.assert_allclose(MS.cross_val_score(_fit_predict(estimator), X, y, k=k, seed=seed), mse_sk,
                               rtol=RTOL, atol=ATOL)
    r2_sk = cross_val_score(estimator, X, y, cv=folds, scoring="r2")
    ours = MS.cross_val_score(_fit_predict(estimator), X, y, k=k, seed=seed, metric=M.r2_score)
    np.testing.assert_allclose(ours, r2_sk, rtol=RTOL, atol=ATOL)
    assert ours.dtype == np.float64 and ours.shape == (k,)


@pytest.mark.parametrize("n,k,seed", [(10, 5, 0), (11, 5, 3), (23, 4, 7), (30, 2, 1), (9, 9, 2)])
def test_cross_val_score_folds_are_kfold_blocks_of_the_seeded_permutation(n, k, seed):
    """Call i trains on everything outside block i of KFold(k) applied to default_rng(seed).permutation(n)."""
    X, y = _data(seed, n, d=1)
    perm = np.random.default_rng(seed).permutation(n)
    seen = []

    def recording(X_train, y_train, X_val):
        seen.append((X_train.copy(), y_train.copy(), X_val.copy()))
        return np.zeros(len(X_val))

    X0, y0 = X.copy(), y.copy()
    scores = MS.cross_val_score(recording, X, y, k=k, seed=seed)
    assert np.array_equal(X, X0) and np.array_equal(y, y0)
    blocks = list(KFold(k).split(np.zeros(n)))
    assert len(seen) == k
    for (X_train, y_train, X_val), (train_block, val_block), score in zip(seen, blocks, scores):
        val, train = np.sort(perm[val_block]), np.sort(perm[train_block])
        np.testing.assert_array_equal(X_val, X[val])
        np.testing.assert_array_equal(X_train, X[train])
        np.testing.assert_array_equal(y_train, y[train])
        assert score == pytest.approx(mean_squared_error(y[val], np.zeros(len(val))), rel=RTOL)


def test_cross_val_score_with_k_equal_n_is_a_permuted_leave_one_out():
    X, y = _data(5, 12, d=2)
    loo = -cross_val_score(LinearRegression(), X, y, cv=LeaveOneOut(), scoring="neg_mean_squared_error")
    ours = MS.cross_val_score(_fit_predict(LinearRegression()), X, y, k=12, seed=4)
    perm = np.random.default_rng(4).permutation(12)
    np.testing.assert_allclose(ours, loo[perm], rtol=RTOL, atol=ATOL)


def test_cross_val_score_metric_none_is_mse_and_calls_fit_predict_once_per_fold():
    X, y = _data(1, 25)
    calls = []
    fp = _fit_predict(LinearRegression())

    def counted(*args):
        calls.append(len(args[2]))
        return fp(*args)

    np.testing.assert_array_equal(MS.cross_val_score(counted, X, y, k=5, seed=9),
                                  MS.cross_val_score(fp, X, y, k=5, seed=9, metric=M.mse))
    assert calls == [5, 5, 5, 5, 5]


# ---------------------------------------------------------------- grid_search_cv

def _ridge_factory(alpha: float):
    return _fit_predict(Ridge(alpha=alpha))


@pytest.mark.parametrize("seed", SEEDS)
def test_grid_search_cv_equals_sklearn_gridsearchcv_on_the_same_folds(seed):
    X, y = _data(seed, 40, d=6)
    alphas = [30.0, 0.01, 3.0, 300.0, 0.3]                    # not sorted: the means follow the grid's order
    grid = [{"alpha": a} for a in alphas]
    folds = S.kfold_indices(40, 5, shuffle=True, seed=seed)
    sk = GridSearchCV(Ridge(), {"alpha": alphas}, cv=folds, scoring="neg_mean_squared_error").fit(X, y)
    best, means = MS.grid_search_cv(_ridge_factory, grid, X, y, k=5, seed=seed)
    np.testing.assert_allclose(means, -sk.cv_results_["mean_test_score"], rtol=RTOL, atol=ATOL)
    assert best == sk.best_params_ and best is grid[alphas.index(sk.best_params_["alpha"])]
    assert means.dtype == np.float64 and means.shape == (5,)
    sk = GridSearchCV(Ridge(), {"alpha": alphas}, cv=folds, scoring="r2").fit(X, y)
    best, means = MS.grid_search_cv(_ridge_factory, grid, X, y, k=5, seed=seed, metric=r2_score,
                                    greater_is_better=True)
    np.testing.assert_allclose(means, sk.cv_results_["mean_test_score"], rtol=RTOL, atol=ATOL)
    assert best == sk.best_params_


def test_grid_search_cv_keeps_the_first_tie_and_never_picks_a_nan_mean():
    X, y = _data(2, 30)

    def factory(alpha, tag=None, broken=False):
        fp = _ridge_factory(alpha)
        return (lambda a, b, c: np.full(len(c), np.nan)) if broken else fp

    grid = [{"alpha": 100.0}, {"alpha": 0.1, "tag": "a"}, {"alpha": 0.1, "tag": "b"}]
    best, means = MS.grid_search_cv(factory, grid, X, y)
    assert means[1] == means[2] < means[0] and best is grid[1]
    grid = [{"alpha": 0.1, "broken": True}, {"alpha": 100.0}, {"alpha": 1.0}]
    best, means = MS.grid_search_cv(factory, grid, X, y)
    assert np.isnan(means[0]) and int(np.argmin(means)) == 0          # np.argmin would pick the NaN
    assert best is grid[int(np.nanargmin(means))]
    best, means = MS.grid_search_cv(factory, grid, X, y, metric=M.r2_score, greater_is_better=True)
    assert np.isnan(means[0]) and best is grid[int(np.nanargmax(means))]
    with pytest.raises(ValueError):
        MS.grid_search_cv(factory, [], X, y)


def test_grid_search_cv_scores_every_entry_on_the_same_folds():
    X, y = _data(3, 33)
    seen: dict[float, list[np.ndarray]] = {}

    def factory(alpha):
        def fit_predict(X_train, y_train, X_val):
            seen.setdefault(alpha, []).append(X_val.copy())
            return np.zeros(len(X_val))
        return fit_predict

    MS.grid_search_cv(factory, [{"alpha": 1.0}, {"alpha": 2.0}], X, y, k=3, seed=5)
    assert all(np.array_equal(a, b) for a, b in zip(seen[1.0], seen[2.0])) and len(seen[1.0]) == 3


# ---------------------------------------------------------------- bootstrap_ci

def _percentile(sorted_values: np.ndarray, q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default 'linear' method), written out."""
    pos = (len(sorted_values) - 1) * q / 100.0
    lo = int(np.floor(pos))
    hi = min(lo + 1, len(sorted_values) - 1)
    return float(sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo))


def _by_hand(metric, y_true, y_pred, n_boot, alpha, seed):
    rng = np.random.default_rng(seed)
    n = len(y_true)
    scores = []
    for rows in rng.integers(0, n, size=(n_boot, n)):
        scores.append(metric(np.array([y_true[i] for i in rows]), np.array([y_pred[i] for i in rows])))
    s = np.sort(np.array(scores))
    return _percentile(s, 100 * alpha / 2), _percentile(s, 100 * (1 - alpha / 2))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("metric", [M.mse, M.mae, M.r2_score], ids=lambda m: m.__name__)
def test_bootstrap_ci_equals_a_hand_written_percentile_bootstrap(metric, seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 50))
    y = rng.normal(size=n)
    p = y + rng.normal(0.2, 0.7, size=n)
    n_boot, alpha = int(rng.integers(20, 400)), float(rng.uniform(0.01, 0.4))
    y0, p0 = y.copy(), p.copy()
    low, high = MS.bootstrap_ci(metric, y, p, n_boot=n_boot, alpha=alpha, seed=seed)
    assert type(low) is float and type(high) is float and low <= high
    assert (low, high) == pytest.approx(_by_hand(metric, y, p, n_boot, alpha, seed), rel=RTOL, abs=ATOL)
    assert np.array_equal(y, y0) and np.array_equal(p, p0)


@pytest.mark.parametrize("seed", SEEDS)
def test_bootstrap_ci_equals_scipy_paired_percentile_bootstrap(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 60)
    p = np.where(rng.random(60) < 0.8, y, 1 - y)
    for metric, yy, pp in ((M.accuracy, y, p), (M.r2_score, rng.normal(size=40), rng.normal(size=40))):
        res = stats.bootstrap((yy, pp), metric, n_resamples=500, paired=True, vectorized=False, method="percentile",
                              confidence_level=0.9, rng=np.random.default_rng(seed))
        ci = res.confidence_interval
        assert MS.bootstrap_ci(metric, yy, pp, n_boot=500, alpha=0.1, seed=seed) == pytest.approx(
            (ci.low, ci.high), rel=RTOL, abs=ATOL)


def test_bootstrap_ci_covers_the_true_mean_about_1_minus_alpha_of_the_time():
    """The 90 % percentile interval of a sample mean of 80 normal values covers the true mean in
    about 90 % of 300 independent samples (binomial sd 1.7 %; the percentile bootstrap runs a little short)."""
    rng = np.random.default_rng(0)
    hits = 0
    for rep in range(300):
        y = rng.normal(1.0, 2.0, size=80)
        low, high = MS.bootstrap_ci(lambda t, _p: float(np.mean(t)), y, y, n_boot=200, alpha=0.1, seed=rep)
        hits += low <= 1.0 <= high
    assert 0.84 <= hits / 300 <= 0.95


@pytest.mark.parametrize("kwargs", [{"alpha": 0.0}, {"alpha": 1.0}, {"alpha": -0.1}, {"alpha": 1.5},
                                    {"n_boot": 0}, {"n_boot": -3}])
def test_bootstrap_ci_rejects_alpha_outside_0_1_and_n_boot_below_1(kwargs):
    y = np.arange(5.0)
    with pytest.raises(ValueError):
        MS.bootstrap_ci(M.mse, y, y + 1.0, **kwargs)


def test_bootstrap_ci_of_an_exact_prediction_is_a_point():
    y = np.random.default_rng(1).normal(size=20)
    assert MS.bootstrap_ci(M.mae, y, y.copy(), n_boot=30) == (0.0, 0.0)


# ---------------------------------------------------------------- the checks themselves

@pytest.mark.parametrize("exercise", ["cross_val_score", "grid_search_cv", "bootstrap_ci"])
def test_selection_checks_see_values_from_the_reference_except_in_their_error_cases(exercise):
    """A probe that crashed would make the reference 'expect' an error and pass every answer that crashes too."""
    from nb_helpers import checks  # noqa: F401 - registers the checks
    from nb_helpers.checks.collection import collect
    from nb_helpers.checks.declaration import REGISTRY

    check = REGISTRY[exercise]
    for seed in (0, 5):
        cases = check.all_cases(seed)
        for case, outcome in zip(cases, collect(check, check.reference, cases, trap=False)):
            args, kwargs = case.fresh()
            invalid = (not args[1] if exercise == "grid_search_cv" else
                       exercise == "bootstrap_ci" and (not 0 < kwargs.get("alpha", 0.05) < 1 or kwargs.get("n_boot", 1) < 1))
            assert outcome["status"] == ("error" if invalid else "ok"), (case, outcome)
            if invalid:
                assert outcome["error"]["type"] == "ValueError"


# ---------------------------------------------------------------- the lesson's demo helpers

def test_make_poly_fit_predict_is_the_lesson_polynomial_fit():
    x, y = complexity.make_curve_data(20, seed=3)
    xv = np.linspace(-1, 1, 7)
    np.testing.assert_array_equal(MS.make_poly_fit_predict(4)(x, y, xv),
                                  complexity.poly_predict(complexity.poly_fit(x, y, 4), xv))


def test_selection_bias_is_the_graded_grid_search_and_nested_cv_repeat_by_repeat():
    """The lesson's selection-bias experiment uses the vectorised `selection_bias` (400 data sets at once); it
    computes, data set by data set, exactly what the references of `grid_search_cv` and nested CV compute."""
    out = MS.selection_bias(n_repeats=6, n_train=22, n_test=50, degrees=range(6), k=4, seed=3)
    rng = np.random.default_rng(3)
    x = rng.uniform(-1.0, 1.0, size=(6, 22))
    y = complexity.true_curve(x) + rng.normal(0.0, 1.0, size=x.shape)
    grid = [{"degree": d} for d in range(6)]
    for r in range(6):
        best, means = MS.grid_search_cv(MS.make_poly_fit_predict, grid, x[r], y[r], k=4, seed=3)
        np.testing.assert_allclose(out["cv"][r], means, rtol=1e-8)
        assert best["degree"] == out["degrees"][out["winner"][r]]
        assert out["winner_cv"][r] == out["cv"][r, out["winner"][r]]
        nested = MS.nested_cv(MS.make_poly_fit_predict, grid, x[r], y[r], k_outer=4, k_inner=4, seed=3)
        assert out["nested"][r] == pytest.approx(nested["scores"].mean(), rel=1e-8)


def test_paired_bootstrap_uses_the_resamples_of_bootstrap_ci():
    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, 90)
    a = np.where(rng.random(90) < 0.9, y, 1 - y)
    b = np.where(rng.random(90) < 0.8, y, 1 - y)
    out = MS.paired_bootstrap_ci(M.accuracy, y, a, b, n_boot=400, alpha=0.05, seed=2)
    assert out["a"] == MS.bootstrap_ci(M.accuracy, y, a, n_boot=400, seed=2)
    assert out["b"] == MS.bootstrap_ci(M.accuracy, y, b, n_boot=400, seed=2)
    positions = np.arange(90)
    diff = MS.bootstrap_ci(lambda t, i: M.accuracy(t, a[i]) - M.accuracy(t, b[i]), y, positions, n_boot=400, seed=2)
    assert (out["low"], out["high"]) == pytest.approx(diff, abs=1e-12)
    assert out["diff"] == pytest.approx(M.accuracy(y, a) - M.accuracy(y, b))


# ---------------------------------------------------------------- graded end to end, in isolation

def test_at_grading_each_new_exercise_is_judged_with_the_references_of_the_functions_it_calls(fork_server):
    """In the sandboxed child, wrong `kfold_indices`, `mse` and `cross_val_score` above them cost nothing to
    `cross_val_score` and `grid_search_cv`: isolation binds those names to the references."""
    import os

    from nb_helpers.checks import outcome
    from nb_helpers.checks.declaration import REGISTRY
    from nb_helpers.checks.judgement import judge
    from nb_helpers.conventions import DEFAULT_PREAMBLE
    from nb_helpers.grading import synthetic
    from tests.support.course import REPO

    lesson = "02_training_neural_networks"
    nb = synthetic.read(REPO / "solutions" / lesson / f"{lesson}.ipynb")
    solutions = {e: synthetic.solution_cell(nb, e).source for e in ("cross_val_score", "grid_search_cv", "bootstrap_ci")}
    wrong = ["def kfold_indices(n, k, shuffle=False, seed=None):\n    return []\n",
             "def mse(y_true, y_pred):\n    return 0.0\n"]
    for exercise, cells in (
            ("cross_val_score", wrong + [solutions["cross_val_score"]]),
            ("grid_search_cv", wrong + ["def cross_val_score(*args, **kwargs):\n    return None\n",
                                        solutions["grid_search_cv"]]),
            ("bootstrap_ci", [solutions["bootstrap_ci"]])):
        reply = fork_server.request({"exercise": exercise, "seed": 7, "setup": DEFAULT_PREAMBLE, "cells": cells,
                                     "cwd": os.getcwd(), "timeout": 20.0, "memory_mb": 2048, "cell_timeout": 0.0})
        assert reply["status"] == "ok", reply
        check = REGISTRY[exercise]
        cases = check.all_cases(7)
        verdict = judge(check, cases, outcome.from_json(reply["payload"], len(cases)), redact=True)
        assert verdict.passed, verdict.message


# ---------------------------------------------------------------- the demos, with unfinished exercises

def _solution_namespace(blank_name: str | None = None) -> dict:
    """The notebook's solutions of kfold_indices, mse, cross_val_score and grid_search_cv in one namespace
    (as in the kernel), with `blank_name` replaced by a blank answer afterwards."""
    import json

    from tests.support.course import REPO

    lesson = "02_training_neural_networks"
    nb = json.loads((REPO / "solutions" / lesson / f"{lesson}.ipynb").read_text())
    ns: dict = {"np": np}
    for cell in nb["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") in ("kfold_indices", "mse", "cross_val_score",
                                                                     "grid_search_cv"):
            exec("".join(cell["source"]), ns)  # noqa: S102 - the notebook's own solution cells

    def blank(*args, **kwargs):
        raise NotImplementedError()

    if blank_name:
        ns[blank_name] = blank
    return ns


@pytest.mark.parametrize("blank_name", [None, "kfold_indices", "mse", "cross_val_score"])
def test_demos_use_the_students_functions_only_when_everything_they_call_passes(blank_name, capsys):
    """A check binds the references of the functions an exercise calls, so a right `cross_val_score` or
    `grid_search_cv` passes while the student's `kfold_indices` or `mse` is still blank; the demo must then
    use the reference (which calls only references) and say so in one line, and it must run."""
    from nb_helpers import checks  # noqa: F401 - registers the checks
    from nb_helpers.demos import yours_or_reference

    ns = _solution_namespace(blank_name)
    cvs = yours_or_reference("cross_val_score", ns["cross_val_score"],
                             needs={"kfold_indices": ns["kfold_indices"], "mse": ns["mse"]})
    gs = yours_or_reference("grid_search_cv", ns["grid_search_cv"],
                            needs={n: ns[n] for n in ("cross_val_score", "kfold_indices", "mse")})
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    x, y = complexity.make_curve_data(20, noise=0.3, seed=3)
    grid = [{"degree": d} for d in range(5)]
    np.testing.assert_allclose(cvs(MS.make_poly_fit_predict(3), x, y), MS.cross_val_score(MS.make_poly_fit_predict(3), x, y))
    assert gs(MS.make_poly_fit_predict, grid, x, y)[0] == MS.grid_search_cv(MS.make_poly_fit_predict, grid, x, y)[0]
    if blank_name is None:
        assert cvs is ns["cross_val_score"] and gs is ns["grid_search_cv"]
        assert lines == ["(this demo uses your cross_val_score)", "(this demo uses your grid_search_cv)"]
        return
    assert gs is MS.grid_search_cv
    assert lines[1] == (f"(this demo uses the reference grid_search_cv: yours calls your {blank_name}, which does not "
                        "pass its check yet)")
    if blank_name == "cross_val_score":
        assert cvs is MS.cross_val_score and lines[0].endswith("yours does not pass its check yet)")
    else:
        assert cvs is MS.cross_val_score and lines[0] == (f"(this demo uses the reference cross_val_score: yours calls "
                                                          f"your {blank_name}, which does not pass its check yet)")
