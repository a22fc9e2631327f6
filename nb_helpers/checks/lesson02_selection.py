"""Checks of lesson 02's second-edition exercises (model selection and evaluation as code): declarations only.

`cross_val_score` is handed a `fit_predict` that records every call (`RecordingFitPredict`, built fresh
for every case): the probe returns how many calls there were, which rows each call trained and validated
on (in fold order), what the function returned and its scores, so that the order of the folds, their
membership and "called once per fold" are all checked, not only the scores. The rows are recognised by
their values in X, so the cases' X have distinct rows.

`grid_search_cv` gets a factory of polynomial least-squares `fit_predict`s (`PolyFactory`); its cases
include a tie for the best mean (the first entry must win), an entry whose predictions are NaN (a NaN mean
must never win), a score to maximise (R²) and an empty grid (ValueError: the lesson's decision, stated in
the exercise). At grading, isolation binds the student's `cross_val_score`, `kfold_indices` and `mse` to
their references, so these checks judge only the function under test.

`bootstrap_ci` is compared value for value with the reference: the recipe (one
`rng.integers(0, n, size=(n_boot, n))` call, the same rows for y_true and y_pred) is the contract.
Drawing the rows with `rng.choice(n, size=(n_boot, n))` or one row at a time gives the very same numbers
(NumPy draws them from the same stream), so those are not wrong answers. "As floats": each bound may be a
Python float, a NumPy float or a 0-d array (as any float result); a NumPy array of shape (2,) is not a pair of floats.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import metrics as M
from .. import model_selection as MS
from .. import splits as S
from .declaration import Case, Check, WrongAnswer, register

LESSON = "02_training_neural_networks"

SELECTION_FORBIDDEN = tuple(f"sklearn.model_selection.{name}" for name in (
    "cross_val_score", "cross_validate", "cross_val_predict", "GridSearchCV", "RandomizedSearchCV",
    "validation_curve", "learning_curve", "KFold", "ShuffleSplit", "RepeatedKFold",
    "ParameterGrid",
)) + ("nb_helpers.model_selection.nested_cv", "nb_helpers.model_selection.selection_bias")
BOOTSTRAP_FORBIDDEN = ("scipy.stats.bootstrap", "sklearn.utils.resample", "nb_helpers.model_selection.paired_bootstrap_ci")


def arr(*values: float) -> np.ndarray:
    return np.array(values, dtype=np.float64)


class NamedMetric:
    """A course metric passed as an argument, shown by its name in messages."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._f = getattr(M, name)

    def __call__(self, y_true: np.ndarray, y_pred: np.ndarray) -> float:
        return self._f(y_true, y_pred)

    def __repr__(self) -> str:
        return self.name


def _kind(value: Any) -> str:
    """What a function returned, in words (compared as a string before the values)."""
    if isinstance(value, np.ndarray):
        return f"a {value.dtype} array of shape {value.shape}"
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of {len(value)} items"
    if isinstance(value, (float, np.floating)):
        return "a single float"
    return f"a {type(value).__name__}"


# ---------------------------------------------------------------- cross_val_score

def _design(X: np.ndarray) -> np.ndarray:
    """[1, x, x²] for 1-D inputs, [1, X] for 2-D inputs."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 1:
        return np.stack([np.ones_like(X), X, X * X], axis=1)
    return np.column_stack([np.ones(len(X)), X])


class RecordingFitPredict:
    """A fit_predict that records which rows of the case's X each call trained and validated on.

    model "lstsq": least squares on `_design` (regression); "centroid": the nearest class mean (labels).
    """

    def __init__(self, X: np.ndarray, y: np.ndarray, model: str = "lstsq") -> None:
        self.X, self.y, self.model = X.copy(), y.copy(), model
        self.rows = {np.asarray(row).tobytes(): i for i, row in enumerate(self.X)}
        self.calls: list[tuple[list[int], list[int], bool]] = []

    def _ids(self, X: Any) -> list[int]:
        return [self.rows.get(np.asarray(row, dtype=np.float64).tobytes(), -1) for row in np.asarray(X)]

    def describe(self, k: int, seed: int) -> list[str]:
        """Each call in words: which fold of kfold_indices it validated on, what it trained on."""
        n = len(self.X)
        folds = {"kfold_indices(len(X), k, shuffle=True, seed=seed)": S.kfold_indices(n, k, shuffle=True, seed=seed),
                 "the unshuffled kfold_indices(len(X), k)": S.kfold_indices(n, k)}
        lines = []
        for train, val, _ in self.calls:
            val_set, train_set = set(val), set(train)
            where = "rows that form no fold of kfold_indices(len(X), k, shuffle=True, seed=seed)"
            for label, candidates in folds.items():
                hits = [i for i, (_, v) in enumerate(candidates) if set(v.tolist()) == val_set and len(val) == len(v)]
                if hits:
                    where = f"fold {hits[0]} of {label}"
                    break
            if -1 in val_set:
                where = "rows that are not rows of X"
            if -1 in train_set:
                training = "rows that are not rows of X"
            elif len(train) == len(train_set) and train_set == set(range(n)) - val_set:
                training = "the other rows"
            elif train_set == set(range(n)):
                training = "all rows, the validation rows included"
            else:
                training = "rows other than the complement of the validation rows"
            lines.append(f"validate on {where}, train on {training}")
        return lines

    def aligned(self) -> str:
        return ("y_train belongs to the rows of X_train" if all(a for _, _, a in self.calls)
                else "a call's y_train does not belong to the rows of its X_train")

    def __call__(self, X_train: np.ndarray, y_train: np.ndarray, X_val: np.ndarray) -> np.ndarray:
        train, val = self._ids(X_train), self._ids(X_val)
        y_train = np.asarray(y_train)
        aligned = len(y_train) == len(train) and -1 not in train and np.array_equal(y_train, self.y[train])
        self.calls.append((train, val, bool(aligned)))
        if self.model == "centroid":
            X_train, X_val = np.asarray(X_train, dtype=np.float64), np.asarray(X_val, dtype=np.float64)
            classes = np.unique(y_train)
            means = np.stack([X_train[y_train == c].mean(axis=0) for c in classes])
            dist = ((X_val[:, None, :] - means[None, :, :]) ** 2).sum(axis=2)
            return classes[np.argmin(dist, axis=1)].astype(np.int64)
        coef = np.linalg.lstsq(_design(X_train), np.asarray(y_train, dtype=np.float64), rcond=None)[0]
        return _design(X_val) @ coef

    def __repr__(self) -> str:
        return "nearest_centroid" if self.model == "centroid" else "least_squares"


def _probe_cross_val_score(obj, args, kwargs):
    kwargs = {key: value for key, value in kwargs.items() if key != "_hidden"}
    fit_predict = args[0]
    scores = obj(*args, **kwargs)
    k, seed = kwargs.get("k", 5), kwargs.get("seed", 0)
    return {"calls of fit_predict": f"{len(fit_predict.calls)} calls",
            "folds, in order": fit_predict.describe(k, seed),
            "targets": fit_predict.aligned(),
            "returned": _kind(scores),
            "scores": scores}


def _regression(rng: np.random.Generator, n: int, d: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n distinct rows: 1-D x (d = 0) or (n, d) X, with a noisy smooth target."""
    X = rng.permutation(np.linspace(-1.0, 1.0, n)) + rng.uniform(-0.01, 0.01, n) if d == 0 else \
        rng.normal(0.0, 1.0, size=(n, d))
    base = X if d == 0 else X @ rng.normal(0.0, 1.0, size=d)
    y = np.sin(2.0 * base) + base + rng.normal(0.0, 0.3, size=n)
    return X, y


def _classification(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    y = rng.permutation(np.arange(n) % 3).astype(np.int64)
    X = rng.normal(0.0, 1.0, size=(n, 2)) + 1.5 * np.stack([np.cos(2.0 * y), np.sin(2.0 * y)], axis=1)
    return X, y


def _cvs_case(X: np.ndarray, y: np.ndarray, model: str = "lstsq", hint: str | None = None, **kwargs: Any) -> Case:
    """A case whose fit_predict is a fresh recorder (`_hidden=True` marks a family case, as in lesson02_training)."""
    def make() -> tuple[tuple, dict]:
        return (RecordingFitPredict(X, y, model), X.copy(), y.copy()), dict(kwargs)
    return Case(kwargs={"_hidden": True} if kwargs.get("_hidden") else {}, make=make, hint=hint)


_X20, _Y20 = _regression(np.random.default_rng(20), 20)
_X23, _Y23 = _regression(np.random.default_rng(23), 23, d=2)
_X17, _Y17 = _regression(np.random.default_rng(17), 17)
_X7, _Y7 = _regression(np.random.default_rng(7), 7, d=1)
_XC, _YC = _classification(np.random.default_rng(30), 30)

FOLDS = ("take the folds from kfold_indices(len(X), k, shuffle=True, seed=seed), in the order it returns them, "
         "and pass the seed on.")


def _cvs_family(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(3):
        kind = ["1-D", "2-D", "labels"][int(rng.integers(3))]
        n = int(rng.integers(10, 41))
        k = int(rng.integers(2, min(n, 8) + 1))
        seed = int(rng.integers(0, 10_000))
        if kind == "labels":
            X, y = _classification(rng, max(n, 3 * k))
            cases.append(_cvs_case(X, y, "centroid", k=k, seed=seed, metric=NamedMetric("accuracy"), _hidden=True))
            continue
        X, y = _regression(rng, n, 0 if kind == "1-D" else int(rng.integers(1, 4)))
        metric = [None, "r2_score", "mae"][int(rng.integers(3))] if n // k >= 2 else None
        kwargs: dict[str, Any] = {"k": k, "seed": seed, "_hidden": True}
        if metric is not None:
            kwargs["metric"] = NamedMetric(metric)
        cases.append(_cvs_case(X, y, **kwargs))
    return cases


def _cvs_variant(bug: str = ""):
    """cross_val_score with one classic mistake (each a wrong answer below)."""
    def cross_val_score(fit_predict, X, y, k=5, seed=0, metric=None):
        if metric is None:
            metric = M.mae if bug == "none_is_mae" else M.mse
        if bug == "standardise_in_place":
            X -= X.mean(axis=0)                       # the caller's X, and with every row's statistics
        folds = S.kfold_indices(len(X), k, shuffle=bug != "no_shuffle",
                                seed=0 if bug == "seed_ignored" else seed)
        scores = []
        for train, val in folds:
            if bug == "train_on_all":
                train = np.arange(len(X))
            if bug == "twice":
                fit_predict(X[train], y[train], X[train])   # a training score nobody asked for
            pred = fit_predict(X[train], y[train], X[val])
            scores.append(metric(pred, y[val]) if bug == "swapped" else metric(y[val], pred))
        if bug == "mean":
            return float(np.mean(scores))
        return scores if bug == "list" else np.array(scores, dtype=np.float64)
    return cross_val_score


def _sklearn_cross_val_score(fit_predict, X, y, k=5, seed=0, metric=None):
    """scikit-learn's cross_val_score on the same folds, with fit_predict wrapped as an estimator."""
    from sklearn.base import BaseEstimator
    from sklearn.model_selection import cross_val_score as sk_cross_val_score

    class Wrapped(BaseEstimator):
        def fit(self, X_train, y_train):
            self.train_ = (X_train, y_train)
            return self

        def predict(self, X_val):
            return fit_predict(*self.train_, X_val)

    score = M.mse if metric is None else metric
    folds = S.kfold_indices(len(X), k, shuffle=True, seed=seed)
    return sk_cross_val_score(Wrapped(), X, y, cv=folds, error_score="raise",
                              scoring=lambda est, X_val, y_val: score(y_val, est.predict(X_val)))


register(Check(
    id="cross_val_score", lesson=LESSON, reference=MS.cross_val_score, result="plain",
    probe=_probe_cross_val_score,
    cases=[_cvs_case(_X20, _Y20, hint="metric None means the notebook's mse: score = mse(y[val], predictions)."),
           _cvs_case(_X23, _Y23, k=4, seed=3, metric=NamedMetric("r2_score"),
                     hint="the metric takes (y_true, y_pred) in that order: metric(y[val], predictions). R² is not "
                          "symmetric, so the order matters."),
           _cvs_case(_X17, _Y17, k=3, seed=11, metric=NamedMetric("mae"), hint=FOLDS),
           _cvs_case(_X7, _Y7, k=7, seed=1, metric=NamedMetric("mae"),
                     hint="k = n is leave-one-out: n folds of one validation row each."),
           _cvs_case(_XC, _YC, "centroid", k=5, seed=2, metric=NamedMetric("accuracy"))],
    families=_cvs_family,
    forbidden=SELECTION_FORBIDDEN,
    delegate=_sklearn_cross_val_score,
    hint="for each (train, val) of kfold_indices(len(X), k, shuffle=True, seed=seed): predictions = "
         "fit_predict(X[train], y[train], X[val]), then score metric(y[val], predictions); return the k scores.",
    wrong=[WrongAnswer(_cvs_variant("no_shuffle"), FOLDS),
           WrongAnswer(_cvs_variant("seed_ignored"), "pass the seed on to kfold_indices: another seed must give "
                       "other folds.", clause="randomness"),
           WrongAnswer(_cvs_variant("swapped"), "the metric takes (y_true, y_pred) in that order: "
                       "metric(y[val], predictions). R² is not symmetric, so the order matters."),
           WrongAnswer(_cvs_variant("train_on_all"), "fit on X[train], y[train] only: a model must never train on "
                       "the rows it is validated on."),
           WrongAnswer(_cvs_variant("twice"), "call fit_predict exactly once per fold, with the validation rows "
                       "as its third argument: each call trains a model, and k folds are k trainings."),
           WrongAnswer(_cvs_variant("none_is_mae"), "metric None means the notebook's mse (mean squared error)."),
           WrongAnswer(_cvs_variant("mean"), "return all k scores as an array, not their mean: the spread over "
                       "the folds is information too.", clause="shape"),
           WrongAnswer(_cvs_variant("list"), "return the scores as a float64 NumPy array (np.array(scores)), "
                       "not a list.", clause="dtype"),
           WrongAnswer(_cvs_variant("standardise_in_place"), "`X -= ...` changes the caller's X; leave X and y "
                       "as they are (and anything learnt from data belongs inside the training folds).",
                       clause="no_mutation")],
))


# ---------------------------------------------------------------- grid_search_cv

class PolyFactory:
    """make_fit_predict(degree, broken=False, tag=None): polynomial least squares (monomial basis on 1-D x).

    `broken` returns NaN predictions (a model whose score is NaN); `tag` changes nothing (a tie)."""

    def __call__(self, degree: int = 1, broken: bool = False, tag: str | None = None):
        def fit_predict(x_train, y_train, x_val):
            if broken:
                return np.full(len(x_val), np.nan)
            V = np.vander(np.asarray(x_train, dtype=np.float64), degree + 1)
            coef = np.linalg.lstsq(V, np.asarray(y_train, dtype=np.float64), rcond=None)[0]
            return np.vander(np.asarray(x_val, dtype=np.float64), degree + 1) @ coef
        return fit_predict

    def __repr__(self) -> str:
        return "make_poly"


def _probe_grid_search(obj, args, kwargs):
    out = obj(*args, **{key: value for key, value in kwargs.items() if key != "_hidden"})
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        return {"returned": f"{_kind(out)}, not a pair (best_params, mean_scores)"}
    best, means = out
    return {"returned": "a pair (best_params, mean_scores)", "mean_scores": _kind(means),
            "mean_scores values": means, "best_params": best}


def _grid(*degrees: int) -> list[dict[str, Any]]:
    return [{"degree": d} for d in degrees]


def _gs_case(x, y, grid, hint: str | None = None, **kwargs: Any) -> Case:
    return Case((PolyFactory(), grid, x, y), kwargs, hint=hint)


_GX, _GY = _regression(np.random.default_rng(5), 24)
_LX = np.linspace(-1.0, 1.0, 18)
_LY = 0.8 * _LX + 0.2 + np.random.default_rng(8).normal(0.0, 0.05, 18)     # a line: degree 1 wins

TIE = ("on a tie keep the first of the equal means (np.argmin does), as the grid's order is the user's "
       "preference.")
NAN = ("a NaN mean must never win: np.argmin/np.argmax return the position of a NaN. Skip NaN means (e.g. "
       "replace them by +inf before np.argmin, or use np.nanargmin).")


def _gs_family(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(3):
        n = int(rng.integers(15, 41))
        x, y = _regression(rng, n)
        degrees = rng.permutation(6)[: int(rng.integers(3, 6))]
        kwargs: dict[str, Any] = {"k": int(rng.integers(2, 6)), "seed": int(rng.integers(0, 10_000)), "_hidden": True}
        if rng.integers(2):
            kwargs.update(metric=NamedMetric("r2_score"), greater_is_better=True)
        cases.append(_gs_case(x, y, _grid(*(int(d) for d in degrees)), **kwargs))
    return cases


def _gs_variant(bug: str = ""):
    """grid_search_cv with one classic mistake (each a wrong answer below)."""
    def grid_search_cv(make_fit_predict, grid, X, y, k=5, seed=0, metric=None, greater_is_better=False):
        means = []
        for i, params in enumerate(grid):
            fold_seed = seed + i if bug == "seed_plus_i" else seed
            scores = MS.cross_val_score(make_fit_predict(**params), X, y, k=k, seed=fold_seed, metric=metric)
            means.append(float(np.mean(scores)))
            if bug == "score_into_grid":
                params["score"] = means[-1]              # the caller's dict
        means = np.array(means)
        if bug == "empty_ok" and not grid:
            return None, means
        maximise = (not greater_is_better) if bug == "max_for_min" else (greater_is_better and bug != "ignore_gib")
        keys = -means if maximise else means
        if bug == "nan_wins":
            best = int(np.argmin(keys))
        elif bug == "last_tie":
            clean = np.where(np.isnan(keys), np.inf, keys)
            best = len(clean) - 1 - int(np.argmin(clean[::-1]))
        else:
            best = int(np.argmin(np.where(np.isnan(keys), np.inf, keys)))
        if bug == "sorted":
            means = np.sort(means)
        return grid[best], (list(means) if bug == "list" else means)
    return grid_search_cv


def _sklearn_grid_search(make_fit_predict, grid, X, y, k=5, seed=0, metric=None, greater_is_better=False):
    """scikit-learn's GridSearchCV on the same folds (scores negated for an error metric, as sklearn maximises)."""
    from sklearn.base import BaseEstimator
    from sklearn.model_selection import GridSearchCV

    class Wrapped(BaseEstimator):
        def __init__(self, **params):
            self.params = params

        def get_params(self, deep=True):
            return dict(self.params)

        def set_params(self, **params):
            self.params.update(params)
            return self

        def fit(self, X_train, y_train):
            self.fitted_ = make_fit_predict(**self.params), X_train, y_train
            return self

        def predict(self, X_val):
            fit_predict, X_train, y_train = self.fitted_
            return fit_predict(X_train, y_train, X_val)

    grid = list(grid)
    score = M.mse if metric is None else metric
    sign = 1.0 if greater_is_better else -1.0
    search = GridSearchCV(Wrapped(), [{key: [value] for key, value in g.items()} for g in grid], refit=False,
                          cv=S.kfold_indices(len(X), k, shuffle=True, seed=seed), error_score="raise",
                          scoring=lambda est, X_val, y_val: sign * score(y_val, est.predict(X_val)))
    search.fit(X, y)
    means = sign * search.cv_results_["mean_test_score"]
    best = int(np.flatnonzero(search.cv_results_["rank_test_score"] == 1)[0])
    return grid[best], means


register(Check(
    id="grid_search_cv", lesson=LESSON, reference=MS.grid_search_cv, result="plain", probe=_probe_grid_search,
    cases=[_gs_case(_GX, _GY, _grid(0, 1, 3, 5, 9)),
           _gs_case(_GX, _GY, _grid(9, 3, 0, 5), k=4, seed=7,
                    hint="mean_scores follow the grid's order, whatever that order is."),
           _gs_case(_LX, _LY, [{"degree": 0}, {"degree": 1, "tag": "first"}, {"degree": 1, "tag": "second"},
                               {"degree": 8}], hint=TIE),
           _gs_case(_GX, _GY, [{"degree": 2, "broken": True}, {"degree": 0}, {"degree": 3}], hint=NAN),
           _gs_case(_GX, _GY, _grid(1, 3, 5), k=3, seed=2, metric=NamedMetric("r2_score"), greater_is_better=True,
                    hint="with greater_is_better=True the best mean is the largest one (R²: higher is better)."),
           _gs_case(_GX, _GY, [], hint="an empty grid has no best entry: raise ValueError.")],
    families=_gs_family,
    forbidden=SELECTION_FORBIDDEN,
    delegate=_sklearn_grid_search,
    hint="for each params of grid, in order: mean of cross_val_score(make_fit_predict(**params), X, y, k=k, "
         "seed=seed, metric=metric); the best is the lowest mean (the highest with greater_is_better).",
    wrong=[WrongAnswer(_gs_variant("ignore_gib"), "with greater_is_better=True the best mean is the largest one "
                       "(R²: higher is better)."),
           WrongAnswer(_gs_variant("max_for_min"), "an error such as the MSE is better when it is lower: pick the "
                       "smallest mean unless greater_is_better is True."),
           WrongAnswer(_gs_variant("last_tie"), TIE),
           WrongAnswer(_gs_variant("nan_wins"), NAN),
           WrongAnswer(_gs_variant("seed_plus_i"), "score every grid entry on the same folds (the same seed): "
                       "otherwise the comparison mixes the models with the luck of their folds.",
                       clause="randomness"),
           WrongAnswer(_gs_variant("sorted"), "mean_scores follow the grid's order, whatever that order is."),
           WrongAnswer(_gs_variant("list"), "return mean_scores as a float64 NumPy array, not a list.",
                       clause="dtype"),
           WrongAnswer(_gs_variant("empty_ok"), "an empty grid has no best entry: raise ValueError.",
                       clause="errors"),
           WrongAnswer(_gs_variant("score_into_grid"), "`params[\"score\"] = ...` writes into the caller's grid; keep "
                       "the means in an array of your own.", clause="no_mutation")],
))


# ---------------------------------------------------------------- bootstrap_ci

def _probe_bootstrap(obj, args, kwargs):
    out = obj(*args, **{key: value for key, value in kwargs.items() if key != "_hidden"})
    if isinstance(out, (tuple, list)) and len(out) == 2:
        bounds = []
        for v in out:
            if isinstance(v, np.ndarray) and v.ndim == 0:
                v = v[()]
            if not isinstance(v, (float, np.floating)):
                return {"returned": f"a pair whose items are {_kind(v)}, not floats"}
            bounds.append(v)
        return {"returned": "a pair of floats (low, high)", "low": bounds[0], "high": bounds[1]}
    return {"returned": f"{_kind(out)}, not a pair of floats (low, high)"}


def _boot_case(metric: str, y_true, y_pred, hint: str | None = None, **kwargs: Any) -> Case:
    return Case((NamedMetric(metric), y_true, y_pred), kwargs, hint=hint)


def _reg_pair(seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.normal(0.0, 1.0, n)
    return y, y + rng.normal(0.3, 0.8, n)


def _label_pair(seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n).astype(np.int64)
    return y, np.where(rng.random(n) < 0.7, y, rng.integers(0, 3, n)).astype(np.int64)


_BY, _BP = _reg_pair(1, 30)
_CY, _CP = _label_pair(2, 40)

HALF = ("a (1 − alpha) interval leaves alpha/2 in each tail: the 100·alpha/2 and 100·(1 − alpha/2) percentiles "
        "of the bootstrap scores.")
RECIPE = ("draw all rows at once with rng = np.random.default_rng(seed) and rng.integers(0, n, size=(n_boot, n)); "
          "resample b uses row b of that array for y_true and y_pred alike.")


def _boot_family(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(3):
        n = int(rng.integers(5, 61))
        metric = ["mse", "mae", "r2_score", "accuracy"][int(rng.integers(4))]
        y, p = _label_pair(int(rng.integers(1 << 30)), n) if metric == "accuracy" else \
            _reg_pair(int(rng.integers(1 << 30)), n)
        cases.append(_boot_case(metric, y, p, n_boot=int(rng.integers(50, 301)), alpha=float(rng.uniform(0.01, 0.3)),
                                seed=int(rng.integers(0, 10_000)), _hidden=True))
    return cases


def _boot_variant(bug: str = ""):
    """bootstrap_ci with one classic mistake (each a wrong answer below)."""
    def bootstrap_ci(metric, y_true, y_pred, n_boot=1000, alpha=0.05, seed=0):
        if n_boot < 1 and bug != "no_n_check":
            raise ValueError("n_boot must be at least 1")
        if not 0 < alpha < 1 and bug != "no_alpha_check":
            raise ValueError("alpha must lie in (0, 1)")
        n = len(y_true)
        rng = np.random.default_rng(seed)
        if bug == "legacy":
            np.random.seed(seed)
            idx = np.random.randint(0, n, size=(n_boot, n))
        elif bug == "transposed":
            idx = rng.integers(0, n, size=(n, n_boot)).T
        else:
            idx = rng.integers(0, n, size=(n_boot, n))
        idx_pred = rng.integers(0, n, size=(n_boot, n)) if bug == "unpaired" else idx
        scores = []
        for rows, rows_pred in zip(idx, idx_pred):
            if bug == "into_inputs":
                y_true[:] = y_true[rows]                  # the caller's arrays, resampled in place
                y_pred[:] = y_pred[rows]
                scores.append(metric(y_true, y_pred))
            elif bug == "swapped":
                scores.append(metric(y_pred[rows_pred], y_true[rows]))
            else:
                scores.append(metric(y_true[rows], y_pred[rows_pred]))
        if bug == "into_inputs":
            return tuple(float(v) for v in np.percentile(scores, [100 * alpha / 2, 100 * (1 - alpha / 2)]))
        q = {"full_alpha": [100 * alpha, 100 * (1 - alpha)],
             "fractions": [alpha / 2, 1 - alpha / 2]}.get(bug, [100 * alpha / 2, 100 * (1 - alpha / 2)])
        bounds = np.percentile(scores, q)
        if bug == "reflected":
            full = metric(y_true, y_pred)
            bounds = np.array([2 * full - bounds[1], 2 * full - bounds[0]])
        if bug == "array":
            return bounds
        return float(bounds[0]), float(bounds[1])
    return bootstrap_ci


def _scipy_bootstrap(metric, y_true, y_pred, n_boot=1000, alpha=0.05, seed=0):
    """scipy.stats.bootstrap, paired percentile method, drawing from default_rng(seed): the same resamples."""
    from scipy.stats import bootstrap

    res = bootstrap((y_true, y_pred), metric, n_resamples=n_boot, paired=True, vectorized=False,
                    method="percentile", confidence_level=1.0 - alpha, rng=np.random.default_rng(seed))
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


register(Check(
    id="bootstrap_ci", lesson=LESSON, reference=MS.bootstrap_ci, result="plain", probe=_probe_bootstrap,
    cases=[_boot_case("mse", _BY, _BP, n_boot=200, hint=RECIPE),
           _boot_case("r2_score", _BY, _BP, n_boot=300, alpha=0.1, seed=7,
                      hint="call metric(y_true[rows], y_pred[rows]) in that order: R² is not symmetric."),
           _boot_case("accuracy", _CY, _CP, n_boot=400, seed=5),
           _boot_case("mse", _BY[:12], _BP[:12], hint="the defaults are n_boot=1000, alpha=0.05, seed=0."),
           _boot_case("mae", _BY, _BP, n_boot=1, seed=2, hint="n_boot=1 is valid: one resample, so low = high = its score."),
           _boot_case("mae", _BY[:8], _BP[:8], n_boot=50, alpha=0.2, seed=3, hint=HALF),
           _boot_case("mse", _BY, _BP, alpha=0.0, hint="alpha must lie strictly between 0 and 1: raise ValueError."),
           _boot_case("mse", _BY, _BP, alpha=1.0, hint="alpha must lie strictly between 0 and 1: raise ValueError."),
           _boot_case("mse", _BY, _BP, n_boot=0, hint="n_boot < 1 leaves nothing to take percentiles of: raise "
                      "ValueError.")],
    families=_boot_family,
    forbidden=BOOTSTRAP_FORBIDDEN,
    delegate=_scipy_bootstrap,
    hint=RECIPE,
    wrong=[WrongAnswer(_boot_variant("full_alpha"), HALF),
           WrongAnswer(_boot_variant("fractions"), "np.percentile takes percentages (0–100): ask for 100·alpha/2 "
                       "and 100·(1 − alpha/2), not alpha/2 and 1 − alpha/2."),
           WrongAnswer(_boot_variant("unpaired"), "resample pairs: the same rows of y_true and y_pred together, "
                       "or each prediction is scored against another sample's target."),
           WrongAnswer(_boot_variant("swapped"), "call metric(y_true[rows], y_pred[rows]) in that order: R² is not "
                       "symmetric."),
           WrongAnswer(_boot_variant("reflected"), "the percentile interval is the percentiles of the bootstrap "
                       "scores themselves, not reflected around the score on the whole test set."),
           WrongAnswer(_boot_variant("legacy"), RECIPE, clause="randomness"),
           WrongAnswer(_boot_variant("transposed"), RECIPE, clause="randomness"),
           WrongAnswer(_boot_variant("array"), "return the two bounds as a pair of floats, (float(low), float(high)), "
                       "not the array np.percentile returns.", clause="dtype"),
           WrongAnswer(_boot_variant("no_alpha_check"), "alpha must lie strictly between 0 and 1: raise ValueError.",
                       clause="errors"),
           WrongAnswer(_boot_variant("no_n_check"), "n_boot < 1 leaves nothing to take percentiles of: raise "
                       "ValueError.", clause="errors"),
           WrongAnswer(_boot_variant("into_inputs"), "`y_true[:] = ...` overwrites the caller's arrays; index them "
                       "into new arrays (y_true[rows]) instead.", clause="no_mutation")],
))
