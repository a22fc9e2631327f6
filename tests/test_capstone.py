"""Lesson 04's capstone `train_digits`: the data partition, the hidden test sets, the calibration of
the threshold and the time limit, and the check's rules (nb_helpers.capstone,
nb_helpers.checks.lesson04_capstone). Grading it through nbgrader: tests/test_capstone_grading.py."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.metrics import accuracy_score
from torch import nn

from nb_helpers import capstone as C
from nb_helpers import checks  # noqa: F401 - registers every lesson
from nb_helpers.checks import lesson04_capstone as L
from nb_helpers.checks.collection import collect
from nb_helpers.checks.declaration import REGISTRY
from nb_helpers.checks.kernel import autograde_skip_line, check_verdict, run_check

CHECK = REGISTRY["train_digits"]
REPO = Path(__file__).resolve().parents[1]
LESSON_NB = REPO / "solutions" / "04_advanced_training" / "04_advanced_training.ipynb"


# ------------------------------------------------------------------ the data

def test_pools_are_disjoint_and_hold_every_digit_once():
    seen, unseen = C._partition()
    assert len(seen) == C.SEEN and len(unseen) == C.UNSEEN
    assert set(seen).isdisjoint(unseen) and sorted({*seen, *unseen}) == list(range(C.N_IMAGES))
    X, _ = C._digits()
    seen_rows = {r.tobytes() for r in X[seen]}
    assert not any(r.tobytes() in seen_rows for r in X[unseen]), "an unseen image is also in the seen pool"


def test_the_pools_are_the_data_set_sklearn_loads():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    mine, labels = C._digits()
    assert mine.dtype == np.float32 and np.array_equal(mine, X) and np.array_equal(labels, y)
    assert set(np.unique(C.seen_pool()[1])) == set(range(10))


def test_split_pool_partitions_the_seen_pool_and_repeats_per_seed():
    X_train, y_train, X_val, y_val = C.split_pool(7)
    X, y = C.seen_pool()
    assert len(X_train) + len(X_val) == C.SEEN and len(X_val) == round(C.VAL_FRACTION * C.SEEN)
    got = sorted(r.tobytes() for r in np.concatenate([X_train, X_val]))
    assert got == sorted(r.tobytes() for r in X)
    assert all(a.dtype == np.float32 for a in (X_train, X_val)) and all(b.dtype == np.int64 for b in (y_train, y_val))
    assert np.array_equal(C.split_pool(7)[0], X_train) and not np.array_equal(C.split_pool(8)[0], X_train)


def test_test_sets_come_from_the_unseen_pool_with_light_noise_on_the_strokes_only():
    X, y = C._digits()
    _, unseen = C._partition()
    X_test, y_test = C.hidden_test_set(123)
    rows = C._clean_rows(123)
    assert set(rows) <= set(unseen) and len(set(rows)) == C.TEST_SIZE
    clean = X[rows]
    assert np.array_equal(y_test, y[rows]) and X_test.dtype == np.float32
    assert np.all(X_test[clean == 0] == 0), "the blank background stays blank"
    assert X_test.min() >= 0 and X_test.max() <= 16
    diff = (X_test - clean)[clean > 0]
    assert 0.8 < diff.std() < 1.0 * C.NOISE + 0.05  # N(0, 1) on the strokes, a little less where clipped
    assert np.array_equal(C.hidden_test_set(123)[0], X_test) and not np.array_equal(C.hidden_test_set(124)[1], y_test)


def test_the_noise_moves_the_reference_by_under_a_point():
    """Calibrated as the capstone's contract says: a sensible recipe loses under one point of accuracy to the noise."""
    X, _ = C._digits()
    for student in (0, 1):
        model = C.train_digits(*C.split_pool(student), seed=0)
        X_test, y_test = C.hidden_test_set(1000 + student)
        noisy = C.accuracy(C.predict(model, X_test), y_test)
        clean = C.accuracy(C.predict(model, X[C._clean_rows(1000 + student)]), y_test)
        assert abs(clean - noisy) < 0.01, (student, clean, noisy)


def test_accuracy_equals_sklearn_accuracy_score_on_the_same_predictions():
    """The judge's score is scikit-learn's accuracy_score of the labels and the predicted classes."""
    model = C.train_sgd_baseline(*C.split_pool(3), seed=0)
    X_test, y_test = C.hidden_test_set(3)
    predictions = model(torch.tensor(X_test)).argmax(dim=1).numpy()
    assert C.accuracy(C.predict(model, X_test), y_test) == accuracy_score(y_test, predictions)
    case = L._case(3)
    outcome = collect(CHECK, lambda *a, **k: model, [case])[0]
    problem, _ = L._diagnose(CHECK, case, outcome, redact=False)
    assert f"accuracy {accuracy_score(y_test, predictions):.3f}" in problem


# ------------------------------------------------------------------ calibration

def test_the_reference_passes_with_margin_in_a_quarter_of_the_time_limit_and_sgd_fails():
    rows = C.calibrate(seeds=range(5), students=(0, 1))
    reference = [r for r in rows if r["recipe"].startswith("reference")]
    sgd = [r for r in rows if r["recipe"].startswith("plain SGD")]
    assert len(reference) == len(sgd) == 5
    assert min(r["min_accuracy"] for r in reference) >= C.THRESHOLD + 0.015
    assert max(r["seconds"] for r in reference) < C.TIME_LIMIT_S / 4
    # The contract's "plain SGD at lr 0.01 for two epochs" fails clearly: on every draw, even its best student
    assert max(r["max_accuracy"] for r in sgd) <= C.THRESHOLD - 0.02
    assert all(r["min_accuracy"] <= r["mean_accuracy"] <= r["max_accuracy"] for r in rows)
    assert all(r["parameters"] <= C.MAX_PARAMETERS for r in rows)


def test_the_lessons_solution_cell_is_the_calibrated_recipe():
    """The table measures `capstone.train_digits`; the solution cell the student sees solved is the same
    recipe: run with the course's references of the helpers it uses, it returns the same predictions."""
    import math

    import nbformat
    import torch.nn.functional as F

    from nb_helpers.minibatches import iterate_minibatches
    from nb_helpers.schedules import warmup_cosine

    nb = nbformat.read(LESSON_NB, as_version=4)
    cells = [c.source for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "train_digits"]
    if not cells:
        pytest.skip("the lesson has no capstone section yet")
    namespace = {"np": np, "torch": torch, "nn": nn, "F": F, "math": math,
                 "iterate_minibatches": iterate_minibatches, "warmup_cosine": warmup_cosine}
    exec(compile(cells[0], "solution-train-digits", "exec"), namespace)  # noqa: S102 - the lesson's own cell
    split = C.split_pool(4)
    X_test, _ = C.hidden_test_set(1004)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        ours = C.predict(namespace["train_digits"](*split, seed=2), X_test)
        reference = C.predict(C.train_digits(*split, seed=2), X_test)
    finally:
        torch.set_num_threads(threads)
    assert np.array_equal(ours, reference)


def test_the_lessons_calibration_table_is_what_calibrate_prints():
    """The table the lesson publishes (its accuracies, not its seconds) is the one `calibrate` makes."""
    import nbformat

    nb = nbformat.read(LESSON_NB, as_version=4)
    tables = [c.source for c in nb.cells if c.cell_type == "markdown" and "| recipe | seed |" in c.source]
    if not tables:
        pytest.skip("the lesson has no capstone section yet")
    published = [line for line in tables[0].splitlines() if line.startswith("| ") and "---" not in line][1:]
    made = [line for line in C.format_table(C.calibrate()).splitlines()[2:]]
    strip = lambda line: re.sub(r"\| [0-9.]+ \|$", "|", line)  # noqa: E731 - the seconds vary by machine
    assert [strip(x) for x in published] == [strip(x) for x in made]


# ------------------------------------------------------------------ the check's rules

def test_training_past_the_time_limit_fails_in_the_notebook_and_names_the_limit():
    quick = dataclasses.replace(CHECK, time_limit=0.05)

    def slow(X_train, y_train, X_val, y_val, seed=0):
        import time

        time.sleep(0.1)
        return own_recipe(X_train, y_train, X_val, y_val, seed=seed)

    verdict = check_verdict(quick, slow)
    assert not verdict.passed and "the grader allows 0.05 s" in verdict.message
    assert "train faster" in verdict.message


def test_the_check_does_not_train_in_the_kernel_at_autograde(monkeypatch, capsys):
    calls = []
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    run_check(CHECK, lambda *a, **k: calls.append(1))
    assert calls == [] and capsys.readouterr().out == autograde_skip_line("train_digits") + "\n"
    monkeypatch.setenv("NBGRADER_EXECUTION", "validate")   # nbgrader validate still runs it for the student
    with pytest.raises(AssertionError, match="not a torch.nn.Module"):
        run_check(CHECK, lambda *a, **k: calls.append(1))
    assert calls == [1]


def test_the_call_is_seeded_on_one_thread_and_gets_only_the_four_arrays_and_the_seed():
    seen = {}

    def spy(X_train, y_train, X_val, y_val, seed=0, **extra):
        seen.update(threads=torch.get_num_threads(), seed=seed, extra=extra, draw=torch.rand(1).item(),
                    shapes=(X_train.shape, y_train.shape, X_val.shape, y_val.shape), dtype=X_train.dtype)
        return nn.Linear(64, 10)

    check_verdict(CHECK, spy)
    assert seen["threads"] == 1 and seen["extra"] == {} and seen["dtype"] == np.float32
    assert seen["seed"] == C.practice_seed()
    torch.manual_seed(C.practice_seed())
    assert seen["draw"] == torch.rand(1).item()
    n_val = round(C.VAL_FRACTION * C.SEEN)
    assert seen["shapes"] == ((C.SEEN - n_val, 64), (C.SEEN - n_val,), (n_val, 64), (n_val,))


def own_recipe(X_train, y_train, X_val, y_val, seed=0, hidden=64, epochs=150):
    """A student's recipe: full-batch Adam on a small MLP, the pixel scaling inside the model."""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, 10))
    X, y = torch.tensor(X_train / 16.0), torch.tensor(y_train)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(epochs):
        loss = nn.functional.cross_entropy(model(X), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return nn.Sequential(_Scale(), model)


def test_a_good_recipe_of_ones_own_passes_and_a_wide_one_is_told_its_parameter_count():
    assert check_verdict(CHECK, own_recipe).passed
    wide = lambda *a, **k: nn.Sequential(nn.Linear(64, 1600), nn.Linear(1600, 10))  # noqa: E731
    verdict = check_verdict(CHECK, wide)
    assert "120,010 parameters; at most 100,000" in verdict.message


class _Scale(nn.Module):
    def forward(self, x):
        return x / 16.0


def test_a_crash_gives_the_error_and_a_hint():
    def crashes(X_train, y_train, X_val, y_val, seed=0):
        raise ValueError("shapes do not match")

    verdict = check_verdict(CHECK, crashes)
    assert "raised ValueError while training: shapes do not match" in verdict.message
    assert f"hint: {L.HINT_CRASH}" in verdict.message


def test_every_hint_belongs_to_one_declared_wrong_answer():
    hints = [w.hint for w in CHECK.wrong]
    assert len(hints) == len(set(hints))
    assert {L.HINT_ACCURACY, L.HINT_PARAMETERS, L.HINT_SHAPE, L.HINT_MODULE, L.HINT_DATA} <= set(hints)


def test_every_course_loader_of_the_digits_is_trapped():
    for name in ("sklearn.datasets.load_digits", "nb_helpers.minibatches.digits_arrays",
                 "nb_helpers.capstone.split_pool", "nb_helpers.capstone.hidden_test_set"):
        assert name in CHECK.forbidden

    def reads_the_course_pool(X_train, y_train, X_val, y_val, seed=0):
        from nb_helpers import capstone

        capstone.hidden_test_set(0)

    verdict = check_verdict(CHECK, reads_the_course_pool)
    assert "loaded the data set itself through nb_helpers.capstone.hidden_test_set" in verdict.message


def test_the_verdict_time_limit_is_the_checks_own_unless_configured():
    from traitlets.config import Config

    from nb_helpers.grading.verdict import VerdictPreprocessor

    assert VerdictPreprocessor(config=Config()).time_limit("train_digits") == C.TIME_LIMIT_S
    assert VerdictPreprocessor(config=Config()).time_limit("sigmoid") == 30.0
    config = Config()
    config.VerdictPreprocessor.time_limits = {"train_digits": 5.0}
    config.VerdictPreprocessor.check_timeout = 12.0
    assert VerdictPreprocessor(config=config).time_limit("train_digits") == 5.0
    assert VerdictPreprocessor(config=config).time_limit("relu") == 12.0
