"""The student package's torch-free part: `import nb_helpers` and the modules below need only NumPy,
SciPy, matplotlib and ipywidgets. These tests need no torch (nor the rest of the test suite), so
tests/test_python_versions.py runs them on every supported Python in venvs without torch."""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

#: Modules a student environment without torch can import (`checks`, `data`, `training`, ... need torch).
TORCH_FREE_MODULES = ["activations", "authoring", "backprop", "early_stopping", "env", "gradient_descent", "metrics",
                      "minibatches", "momentum", "optimizers", "plots", "release", "splits", "widgets"]


def test_package_and_torch_free_modules_import_without_torch():
    block = textwrap.dedent(f"""
        import sys
        class BlockTorch:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] == "torch":
                    raise ImportError("torch is blocked")
        sys.meta_path.insert(0, BlockTorch())
        import importlib, nb_helpers
        for name in {TORCH_FREE_MODULES!r}:
            importlib.import_module("nb_helpers." + name)
        assert "torch" not in sys.modules
        print(nb_helpers.__version__)
    """)
    proc = subprocess.run([sys.executable, "-c", block], capture_output=True, text=True, timeout=120,
                          env={"MPLBACKEND": "Agg", "PATH": ""})
    assert proc.returncode == 0, proc.stderr[-2000:]
    from nb_helpers import __version__
    assert proc.stdout.strip() == __version__


def test_activations_follow_their_formulas():
    from nb_helpers import activations as A

    x = np.linspace(-30, 30, 121)
    assert np.allclose(A.sigmoid(x), 1 / (1 + np.exp(-x)))
    assert np.allclose(A.tanh(x), np.tanh(x)) and np.array_equal(A.relu(x), np.maximum(x, 0))
    assert np.allclose(A.leaky_relu(x, 0.1), np.where(x > 0, x, 0.1 * x))
    assert np.allclose(A.sigmoid_grad(x), A.sigmoid(x) * (1 - A.sigmoid(x)))
    assert np.allclose(A.gelu(np.array([0.0, 1.0])), [0.0, 0.8413447460685429])
    z = np.array([[1000.0, 1001.0, 1002.0], [0.0, 0.0, 0.0]])
    assert np.allclose(A.softmax(z).sum(axis=-1), 1) and np.allclose(A.softmax(z)[1], 1 / 3)
    assert np.allclose(A.log_softmax(z), np.log(A.softmax(z)))


def test_metrics_on_a_small_example():
    from nb_helpers import metrics as M

    y_true = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1, 1])
    y_pred = np.array([0, 0, 0, 0, 1, 1, 0, 1, 1, 1])
    assert M.accuracy(y_true, y_pred) == pytest.approx(0.7)
    assert M.confusion_matrix(y_true, y_pred).tolist() == [[4, 2], [1, 3]]
    assert M.precision_recall_f1(y_true, y_pred) == pytest.approx((0.6, 0.75, 2 / 3))
    assert M.mse(np.array([1.0, 2.0]), np.array([1.5, 2.5])) == pytest.approx(0.25)
    assert M.mae(np.array([1.0, 2.0]), np.array([1.5, 3.0])) == pytest.approx(0.75)
    assert M.r2_score(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.0])) == 1.0
    assert M.roc_auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])) == pytest.approx(0.75)


def test_splits_are_disjoint_complete_and_match_kfold_sizes():
    from nb_helpers import splits as S

    parts = S.train_val_test_split(1000, seed=0)
    assert [len(p) for p in parts] == [800, 100, 100]
    assert sorted(np.concatenate(parts).tolist()) == list(range(1000))
    assert S.fold_sizes(11, 5).tolist() == [3, 2, 2, 2, 2]
    folds = S.kfold_indices(11, 5)
    assert sorted(np.concatenate([v for _, v in folds]).tolist()) == list(range(11))
    last_train = [int(t[-1]) for t, _ in S.time_series_split(11, 3)]
    assert last_train == [4, 6, 8]


def test_early_stopping_counts_patience():
    from nb_helpers.early_stopping import EarlyStopping

    stopper = EarlyStopping(patience=2)
    stops = [stopper.step(v) for v in [1.0, 0.5, 0.6, float("nan"), 0.4]]
    assert stops == [False, False, False, True, False] and stopper.best_epoch == 4 and stopper.best == 0.4


def test_gradient_descent_converges_to_least_squares():
    from nb_helpers import gradient_descent as GD

    X, y = GD.make_linear_data(n=200, d=1, noise=0.5, seed=0)
    w, b, losses = GD.batch_gd_linear(X, y, lr=0.3, epochs=200)
    A = np.c_[X, np.ones(len(X))]
    exact = np.linalg.lstsq(A, y, rcond=None)[0]
    assert np.allclose([*w, b], exact, atol=1e-6) and losses[-1] <= losses[0]


def test_minibatches_cover_the_data_once_per_epoch():
    from nb_helpers import minibatches as MB

    X, y = np.arange(20).reshape(10, 2), np.arange(10)
    batches = list(MB.iterate_minibatches(X, y, 4, shuffle=True, seed=0))
    assert [len(b) for _, b in batches] == [4, 4, 2] and sorted(np.concatenate([b for _, b in batches])) == list(range(10))
    assert all(np.array_equal(xb[:, 0] // 2, yb) for xb, yb in batches)
    assert MB.n_batches(10, 4) == 3 and MB.n_batches(10, 4, drop_last=True) == 2


def test_numpy_optimizers_take_their_documented_first_steps():
    from nb_helpers import momentum, optimizers as O

    g = np.array([1.0, -2.0])
    p = np.array([1.0, 1.0])
    O.SGD([p], lr=0.1).step([g])
    assert np.allclose(p, [0.9, 1.2])
    p = np.array([1.0, 1.0])
    O.Adam([p], lr=0.1).step([g])            # the first Adam step moves every weight by about lr
    assert np.allclose(p, [0.9, 1.1])
    p, velocities = np.array([1.0, 1.0]), []
    momentum.sgd_momentum_step([p], [g], velocities, lr=0.1, momentum=0.9)
    momentum.sgd_momentum_step([p], [g], velocities, lr=0.1, momentum=0.9)
    assert np.allclose(velocities[0], 1.9 * g) and np.allclose(p, [1.0 - 0.29, 1.0 + 0.58])


def test_env_version_check_and_release_spec():
    from nb_helpers import __version__, env, release

    env.check_version(__version__)
    with pytest.raises(ImportError):
        env.check_version("999.0.0")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        env.check_version("0.0.1")
    assert caught and "released with" in str(caught[0].message)
    assert release.install_spec("v1.2.3").endswith("@v1.2.3") and release.TAG == f"v{__version__}"


def test_plots_and_widgets_build_without_a_display():
    import matplotlib

    matplotlib.use("Agg")
    from nb_helpers import plots, widgets

    plots.use_style()
    fig, axes = plots.new_axes(2)
    assert len(axes) == 2 and callable(widgets.activation_explorer)
    assert math.isclose(float(widgets.DERIVATIVES["sigmoid"](np.array(0.0))), 0.25)
