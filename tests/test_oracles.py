"""Independent oracles for every graded reference.

* An audit: each of the registered exercises names the tests that compare its reference with something
  that did not come from the same hands (torch / scikit-learn computing the same quantity, central finite
  differences for derivatives, conservation laws or properties), and the audit fails when a registered
  exercise has none, or when a named test no longer exists.
* The generic delegate test: every check declares the library call it forbids (`Check.delegate`); run
  with the traps off, that call must be judged equal to the reference on the visible and random cases of
  two seeds — except for the few listed in `DISAGREEING`, each with the reason it cannot agree.
* Oracles that lessons 02–04's own reference tests lacked: finite-difference gradients of the stated
  loss for `batch_gd_linear` / `sgd_linear`, `torch.autograd.gradcheck` (central differences in float64)
  for the penalties, `regularized_bce` and `dropout`, scikit-learn's `log_loss` for the BCE term, the
  total gradient norm of `clip_grad_norm_` for `layer_grad_norms`, and `np.nanargmin` for
  `random_restarts`.
"""

from __future__ import annotations

import importlib
import math
from dataclasses import replace

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.metrics import log_loss, mean_squared_error
from torch import nn

from nb_helpers import checks  # noqa: F401 - registers every lesson
from nb_helpers import gradient_descent as GD
from nb_helpers import gradients as G
from nb_helpers import regularization as R
from nb_helpers import restarts as RS
from nb_helpers.checks.collection import collect
from nb_helpers.checks.declaration import REGISTRY, Case, Check
from nb_helpers.checks.judgement import judge

DELEGATE_TEST = "test_oracles::test_delegate_agrees_with_reference"
L1, L2, L3, L4, ME = ("test_lesson01_references", "test_lesson02_references", "test_lesson03_references",
                      "test_lesson04_references", "test_oracles")
L2S = "test_lesson02_selection"

#: exercise id -> "module::test function" giving its reference an independent oracle.
ORACLES: dict[str, list[str]] = {
    # lesson 01: torch, autograd, central differences, softmax laws (tests/test_lesson01_references.py)
    "step": [f"{L1}::test_elementwise_activations_equal_torch",
             f"{L1}::test_step_and_relu_grad_are_zero_at_zero_like_heaviside_0_and_autograd", DELEGATE_TEST],
    "sigmoid": [f"{L1}::test_elementwise_activations_equal_torch",
                f"{L1}::test_sigmoid_saturates_exactly_and_tanh_stays_in_range_at_1000", DELEGATE_TEST],
    "tanh": [f"{L1}::test_elementwise_activations_equal_torch",
             f"{L1}::test_sigmoid_saturates_exactly_and_tanh_stays_in_range_at_1000", DELEGATE_TEST],
    "relu": [f"{L1}::test_elementwise_activations_equal_torch", DELEGATE_TEST],
    "leaky_relu": [f"{L1}::test_leaky_relu_equals_torch_for_slopes_in_0_1", DELEGATE_TEST],
    "gelu": [f"{L1}::test_elementwise_activations_equal_torch", DELEGATE_TEST],
    "sigmoid_grad": [f"{L1}::test_derivatives_equal_torch_autograd",
                     f"{L1}::test_derivatives_equal_central_differences_of_the_course_functions"],
    "tanh_grad": [f"{L1}::test_derivatives_equal_torch_autograd",
                  f"{L1}::test_derivatives_equal_central_differences_of_the_course_functions"],
    "relu_grad": [f"{L1}::test_derivatives_equal_torch_autograd",
                  f"{L1}::test_derivatives_equal_central_differences_of_the_course_functions",
                  f"{L1}::test_step_and_relu_grad_are_zero_at_zero_like_heaviside_0_and_autograd"],
    "softmax": [f"{L1}::test_softmax_and_log_softmax_equal_torch_along_every_axis",
                f"{L1}::test_softmax_slices_sum_to_one_and_are_invariant_to_a_constant_per_slice",
                f"{L1}::test_softmax_and_log_softmax_stay_finite_1000_below_the_max", DELEGATE_TEST],
    "log_softmax": [f"{L1}::test_softmax_and_log_softmax_equal_torch_along_every_axis",
                    f"{L1}::test_softmax_slices_sum_to_one_and_are_invariant_to_a_constant_per_slice",
                    f"{L1}::test_softmax_and_log_softmax_stay_finite_1000_below_the_max", DELEGATE_TEST],
    "cross_entropy": [f"{L1}::test_cross_entropy_equals_torch_cross_entropy",
                      f"{L1}::test_cross_entropy_is_stable_at_logits_of_1e4", DELEGATE_TEST],
    "binary_cross_entropy": [f"{L1}::test_binary_cross_entropy_equals_torch_bce_with_logits",
                             f"{L1}::test_binary_cross_entropy_at_plus_minus_1e4_and_the_errata_example",
                             DELEGATE_TEST],
    "output_activation": [f"{L1}::test_output_activation_equals_the_torch_head",
                          f"{L1}::test_head_and_loss_pair_up_the_way_torch_computes_them"],
    "loss_for": [f"{L1}::test_head_and_loss_pair_up_the_way_torch_computes_them",
                 f"{L1}::test_loss_for_returns_a_new_instance_with_default_arguments"],
    # lesson 01, second edition: torch autograd, central differences, analytic gradients (tests/test_lesson01_backprop.py)
    "numerical_gradient": ["test_lesson01_backprop::test_numerical_gradient_equals_analytic_gradients_on_1d_2d_3d_x",
                           "test_lesson01_backprop::test_numerical_gradient_is_exact_up_to_rounding_on_a_quadratic_and_uses_the_step_h",
                           "test_lesson01_backprop::test_numerical_gradient_calls_f_2_size_times_and_restores_x_bit_for_bit",
                           DELEGATE_TEST],
    "softmax_cross_entropy_backward": [
        "test_lesson01_backprop::test_softmax_cross_entropy_backward_equals_torch_autograd",
        "test_lesson01_backprop::test_softmax_cross_entropy_backward_gradient_rows_sum_to_zero_and_equal_central_differences",
        "test_lesson01_backprop::test_softmax_cross_entropy_backward_is_stable_at_logits_of_1e4", DELEGATE_TEST],
    "two_layer_net": ["test_lesson01_backprop::test_two_layer_net_equals_torch_autograd",
                      "test_lesson01_backprop::test_two_layer_net_relu_derivative_at_exactly_zero_is_zero_like_autograd",
                      "test_lesson01_backprop::test_two_layer_net_gradients_equal_central_differences", DELEGATE_TEST],
    # lesson 02: scikit-learn, a Keras port, partition laws (tests/test_lesson02_references.py)
    "train_val_test_split": [f"{L2}::test_train_val_test_split_sizes_use_python_round",
                             f"{L2}::test_train_val_test_split_is_a_partition_reproducible_per_seed", DELEGATE_TEST],
    "stratified_split": [f"{L2}::test_stratified_split_reproduces_the_errata_example",
                         f"{L2}::test_stratified_split_counts_per_class_with_python_round"],
    "kfold_indices": [f"{L2}::test_kfold_unshuffled_equals_sklearn_kfold",
                      f"{L2}::test_kfold_shuffled_is_a_partition_with_kfold_sizes_reproducible_per_seed", DELEGATE_TEST],
    "time_series_split": [f"{L2}::test_time_series_split_equals_sklearn", DELEGATE_TEST],
    "EarlyStopping": [f"{L2}::test_early_stopping_decisions_equal_keras_on_finite_values"],
    "accuracy": [f"{L2}::test_classification_metrics_equal_sklearn", DELEGATE_TEST],
    "confusion_matrix": [f"{L2}::test_classification_metrics_equal_sklearn", DELEGATE_TEST],
    "precision_recall_f1": [f"{L2}::test_classification_metrics_equal_sklearn",
                            f"{L2}::test_precision_recall_f1_zero_division_matches_sklearn", DELEGATE_TEST],
    "mse": [f"{L2}::test_regression_metrics_equal_sklearn", DELEGATE_TEST],
    "mae": [f"{L2}::test_regression_metrics_equal_sklearn", DELEGATE_TEST],
    "r2_score": [f"{L2}::test_regression_metrics_equal_sklearn",
                 f"{L2}::test_r2_with_constant_y_true_follows_sklearn", DELEGATE_TEST],
    "roc_auc": [f"{L2}::test_roc_auc_equals_sklearn_with_ties", DELEGATE_TEST],
    # lesson 02, second edition: scikit-learn on the same folds, a hand-written bootstrap (tests/test_lesson02_selection.py)
    "cross_val_score": [f"{L2S}::test_cross_val_score_equals_sklearn_cross_val_score_on_the_same_folds",
                        f"{L2S}::test_cross_val_score_folds_are_kfold_blocks_of_the_seeded_permutation",
                        f"{L2S}::test_cross_val_score_with_k_equal_n_is_a_permuted_leave_one_out", DELEGATE_TEST],
    "grid_search_cv": [f"{L2S}::test_grid_search_cv_equals_sklearn_gridsearchcv_on_the_same_folds",
                       f"{L2S}::test_grid_search_cv_keeps_the_first_tie_and_never_picks_a_nan_mean", DELEGATE_TEST],
    "bootstrap_ci": [f"{L2S}::test_bootstrap_ci_equals_a_hand_written_percentile_bootstrap",
                     f"{L2S}::test_bootstrap_ci_equals_scipy_paired_percentile_bootstrap",
                     f"{L2S}::test_bootstrap_ci_covers_the_true_mean_about_1_minus_alpha_of_the_time", DELEGATE_TEST],
    # lesson 03: torch.optim / schedulers / clip_grad_norm_ / softshrink, gradcheck (tests/test_lesson03_references.py)
    "l1_penalty": [f"{L3}::test_l1_penalty_gradient_is_lambda_sign_and_zero_at_zero",
                   f"{ME}::test_penalties_equal_torch_vector_norms_and_pass_gradcheck", DELEGATE_TEST],
    "l2_penalty": [f"{L3}::test_l2_penalty_equals_pytorch_weight_decay_of_twice_lambda",
                   f"{ME}::test_penalties_equal_torch_vector_norms_and_pass_gradcheck", DELEGATE_TEST],
    "regularized_bce": [f"{L3}::test_regularized_bce_is_mean_bce_plus_undivided_penalties_and_reads_a_generator_once",
                        f"{ME}::test_regularized_bce_equals_sklearn_log_loss_plus_norms_and_passes_gradcheck"],
    "soft_threshold": [f"{L3}::test_soft_threshold_matches_softshrink_and_keeps_type_dtype",
                       f"{L3}::test_soft_threshold_is_the_proximal_step_of_the_l1_norm", DELEGATE_TEST],
    "dropout": [f"{L3}::test_dropout_preserves_the_mean_and_drops_a_fraction_p",
                f"{L3}::test_dropout_statistics_agree_with_nn_dropout_and_eval_mode_disables_both",
                f"{ME}::test_dropout_passes_gradcheck_with_a_fixed_mask", DELEGATE_TEST],
    "layer_grad_norms": [f"{L3}::test_layer_grad_norms_equal_grad_norm_of_each_parameter",
                         f"{ME}::test_layer_grad_norms_combine_to_the_total_norm_of_clip_grad_norm_"],
    "clip_grad_norm": [f"{L3}::test_clip_grad_norm_matches_torch_clip_grad_norm_", DELEGATE_TEST],
    "step_decay": [f"{L3}::test_step_decay_equals_steplr_stepped_once_per_epoch", DELEGATE_TEST],
    "exponential_decay": [f"{L3}::test_exponential_decay_equals_exponentiallr_with_gamma_e_minus_k", DELEGATE_TEST],
    "inverse_time_decay": [f"{L3}::test_inverse_time_decay_equals_lambdalr", DELEGATE_TEST],
    "sgd_momentum_step": [f"{L3}::test_sgd_momentum_step_matches_torch_sgd_step_for_step_with_a_changing_lr",
                          f"{L3}::test_pytorch_nesterov_params_are_the_classical_nag_lookahead_points"],
    # lesson 03, second edition: torch's nn.init, F.batch_norm, scikit-learn's Lasso and the lasso optimality
    # conditions (tests/test_lesson03_trainable.py)
    "init_weights": ["test_lesson03_trainable::test_init_weights_bounds_and_variances_equal_torch_nn_init",
                     "test_lesson03_trainable::test_init_weights_draws_only_from_the_given_generator", DELEGATE_TEST],
    "batchnorm_forward": ["test_lesson03_trainable::test_batchnorm_forward_equals_f_batch_norm_call_for_call_running_stats_included",
                          DELEGATE_TEST],
    "ista_lasso": ["test_lesson03_trainable::test_ista_lasso_converges_to_sklearn_lasso_with_the_same_exact_zeros",
                   "test_lesson03_trainable::test_ista_lasso_satisfies_the_lasso_optimality_conditions",
                   "test_lesson03_trainable::test_ista_lasso_equals_a_proximal_step_written_with_torch_softshrink"],
    # lesson 04: torch.optim, CyclicLR, AveragedModel, DataLoader, finite differences (tests/test_lesson04_references.py)
    "batch_gd_linear": [f"{L4}::test_batch_gd_losses_decrease_on_a_convex_problem_and_approach_least_squares",
                        f"{ME}::test_batch_gd_linear_steps_by_the_central_difference_gradient_of_the_stated_loss",
                        DELEGATE_TEST],
    "sgd_linear": [f"{L4}::test_sgd_linear_matches_torch_sgd_with_one_example_per_update",
                   f"{ME}::test_sgd_linear_equals_sgd_driven_by_central_differences", DELEGATE_TEST],
    "iterate_minibatches": [f"{L4}::test_iterate_minibatches_equals_dataloader_without_shuffle",
                            f"{L4}::test_shuffled_minibatches_partition_the_data_keep_rows_aligned_and_repeat_per_seed",
                            DELEGATE_TEST],
    "SGD": [f"{L4}::test_numpy_optimizers_match_torch_optim_for_100_steps_in_float64", DELEGATE_TEST],
    "RMSprop": [f"{L4}::test_numpy_optimizers_match_torch_optim_for_100_steps_in_float64", DELEGATE_TEST],
    "Adam": [f"{L4}::test_numpy_optimizers_match_torch_optim_for_100_steps_in_float64", DELEGATE_TEST],
    "AdamW": [f"{L4}::test_numpy_optimizers_match_torch_optim_for_100_steps_in_float64", DELEGATE_TEST],
    "random_restarts": [f"{L4}::test_random_restarts_calls_once_per_seed_in_order_and_keeps_the_first_smallest_non_nan",
                        f"{ME}::test_random_restarts_picks_what_numpy_nanargmin_picks"],
    "cyclic_lr": [f"{L4}::test_cyclic_lr_equals_torch_cyclic_lr_triangular_without_momentum_cycling", DELEGATE_TEST],
    # lesson 04, second edition: torch's schedulers and an unrolled torch.optim.SGD loop (tests/test_lesson04_schedules.py)
    "warmup_cosine": ["test_lesson04_schedules::test_warmup_cosine_equals_torch_sequential_lambda_warmup_and_cosine_annealing",
                      "test_lesson04_schedules::test_warmup_cosine_rises_linearly_then_falls_monotonically_and_is_continuous",
                      DELEGATE_TEST],
    "lr_range_test": [
        "test_lesson04_schedules::test_lr_range_test_equals_an_unrolled_torch_sgd_loop_and_restores_the_model_bit_for_bit",
        "test_lesson04_schedules::test_lr_range_test_stops_at_the_first_loss_four_times_the_smallest_and_records_it",
        "test_lesson04_schedules::test_lr_range_test_cycles_an_unshuffled_loader_like_a_list"],
    "SWA": [f"{L4}::test_swa_equals_averaged_model_parameters_and_buffers", DELEGATE_TEST],
    "snapshot_ensemble_predict": [f"{L4}::test_snapshot_ensemble_is_the_mean_eval_mode_softmax_and_restores_modes"],
    # the capstone is judged by a threshold, not against its reference: the oracles are scikit-learn's
    # accuracy_score on the same predictions and the data partition (test images never trained on)
    "train_digits": ["test_capstone::test_accuracy_equals_sklearn_accuracy_score_on_the_same_predictions",
                     "test_capstone::test_pools_are_disjoint_and_hold_every_digit_once",
                     "test_capstone::test_the_pools_are_the_data_set_sklearn_loads"],
}


def _kw(case: Case, index: int, name: str, default):
    args, kwargs = case.fresh()
    return args[index] if len(args) > index else kwargs.get(name, default)


#: Checks whose delegate is not expected to agree with the reference on every case: id -> (reason,
#: the cases on which it still must agree, or None when there are none worth running).
DISAGREEING = {
    "train_val_test_split": (
        "sklearn's train_test_split rejects a part of size 0 (test_size=0), which the contract allows",
        lambda case: _kw(case, 1, "val_frac", 0.1) > 0 and _kw(case, 2, "test_frac", 0.1) > 0),
    "bootstrap_ci": (
        "scipy.stats.bootstrap accepts alpha = 0 and 1 (confidence levels 1 and 0), which the contract rejects, "
        "and warns (a standard error with 0 degrees of freedom) for a single resample",
        lambda case: 0.0 < _kw(case, 4, "alpha", 0.05) < 1.0 and _kw(case, 3, "n_boot", 1000) != 1),
    "stratified_split": (
        "sklearn's stratified train_test_split allocates class counts by its own rule, "
        "not round(n_c·frac) per class as the contract asks", None),
    "dropout": (
        "F.dropout takes no generator, so the same seeded generator does not reproduce its mask "
        "(masks are never compared with torch's)",
        lambda case: not _kw(case, 2, "training", True) or not 0.0 < _kw(case, 1, "p", None) < 1.0),
    "ista_lasso": (
        "scikit-learn's Lasso runs coordinate descent to convergence, while the contract compares ISTA after a given "
        "number of steps (the converged answers agree: test_lesson03_trainable)", None),
    "sgd_momentum_step": (
        "the delegate builds a new torch SGD on every call, so its momentum restarts and it never fills "
        "`velocities` (torch.optim.SGD step for step is the oracle in test_lesson03_references)", None),
}

SEEDS = (0, 1)
DELEGATED = sorted((c for c in REGISTRY.values() if c.delegate is not None), key=lambda c: (c.lesson, c.id))


def _test_function(entry: str):
    module, name = entry.split("::")
    return getattr(importlib.import_module(f"tests.{module}"), name, None)


def _delegate_calls_the_reference(check: Check) -> bool:
    """Does the declared delegate hand the work to the course's own reference (no oracle then)?"""
    only_reference = replace(check, forbidden=())
    outcomes = collect(only_reference, check.delegate, check.all_cases(SEEDS[0])[:2], trap=True)
    return any(o["status"] == "delegated" for o in outcomes)


# ---------------------------------------------------------------- the audit

def test_every_registered_exercise_has_an_independent_oracle():
    assert sorted(ORACLES) == sorted(REGISTRY), "every exercise id of REGISTRY (and only those) needs oracles"
    missing = {i: e for i, entries in ORACLES.items() for e in entries
               if not callable(_test_function(e)) or not e.split("::")[1].startswith("test_")}
    assert missing == {}, f"named oracle tests that do not exist: {missing}"
    assert all(ORACLES[i] for i in ORACLES)


@pytest.mark.parametrize("exercise", sorted(i for i, e in ORACLES.items() if DELEGATE_TEST in e))
def test_delegates_counted_as_oracles_are_library_routines_that_must_agree(exercise):
    check = REGISTRY[exercise]
    assert check.delegate is not None
    assert not _delegate_calls_the_reference(check), f"{exercise}'s delegate calls the reference: not an oracle"
    reason_and_filter = DISAGREEING.get(exercise)
    assert reason_and_filter is None or reason_and_filter[1] is not None, \
        f"{exercise}'s delegate is skipped entirely: it cannot count as its oracle"


def test_the_audit_knows_which_delegates_are_the_reference_itself():
    """Delegates that call nb_helpers' own reference agree by construction and are never counted."""
    themselves = sorted(c.id for c in DELEGATED if _delegate_calls_the_reference(c))
    assert themselves and not any(DELEGATE_TEST in ORACLES[i] for i in themselves)


# ---------------------------------------------------------------- every delegate vs its reference

def _judge_delegate(check: Check, cases: list[Case]):
    return judge(check, cases, collect(check, check.delegate, cases, trap=False))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("check", DELEGATED, ids=lambda c: c.id)
def test_delegate_agrees_with_reference(check, seed):
    cases = check.all_cases(seed)
    if check.id in DISAGREEING:
        reason, agrees_on = DISAGREEING[check.id]
        if agrees_on is None:
            pytest.skip(f"{check.id}: {reason}")
        cases = [c for c in cases if agrees_on(c)]
        assert cases
    verdict = _judge_delegate(check, cases)
    assert verdict.passed, verdict.message


@pytest.mark.parametrize("exercise", sorted(DISAGREEING))
def test_listed_disagreements_still_disagree(exercise):
    """Keeps DISAGREEING honest: drop an entry once its delegate agrees on every case."""
    check = REGISTRY[exercise]
    _, agrees_on = DISAGREEING[exercise]
    cases = [c for seed in SEEDS for c in check.all_cases(seed) if agrees_on is None or not agrees_on(c)]
    assert cases and not _judge_delegate(check, cases).passed


# ---------------------------------------------------------------- lesson 03: gradcheck and torch norms

def _t(a) -> torch.Tensor:
    return torch.tensor(np.asarray(a, dtype=np.float64))


def _away_from_zero(rng: np.random.Generator, shape) -> torch.Tensor:
    w = rng.normal(0.0, 1.0, size=shape)
    return _t(np.where(w < 0, -1.0, 1.0) * np.maximum(np.abs(w), 0.05))   # |w| ≥ 0.05: away from |w|'s kink


@pytest.mark.parametrize("seed", range(3))
def test_penalties_equal_torch_vector_norms_and_pass_gradcheck(seed):
    rng = np.random.default_rng(seed)
    ws = [_away_from_zero(rng, s).requires_grad_() for s in [(3, 4), (5,), (2, 2, 3)]]
    lam = float(rng.uniform(0.01, 2.0))
    l1 = R.l1_penalty((w for w in ws), lam)
    l2 = R.l2_penalty((w for w in ws), lam)
    assert l1.dim() == l2.dim() == 0
    torch.testing.assert_close(l1, lam * sum(torch.linalg.vector_norm(w, ord=1) for w in ws), rtol=1e-12, atol=0)
    torch.testing.assert_close(l2, lam * sum(torch.linalg.vector_norm(w) ** 2 for w in ws), rtol=1e-12, atol=0)
    # central differences in float64 vs the gradients autograd takes through the references
    assert torch.autograd.gradcheck(lambda *w: R.l1_penalty((v for v in w), lam), tuple(ws))
    assert torch.autograd.gradcheck(lambda *w: R.l2_penalty((v for v in w), lam), tuple(ws))
    assert torch.autograd.gradgradcheck(lambda *w: R.l2_penalty((v for v in w), lam), tuple(ws))


@pytest.mark.parametrize("seed", range(3))
def test_regularized_bce_equals_sklearn_log_loss_plus_norms_and_passes_gradcheck(seed):
    rng = np.random.default_rng(10 + seed)
    n = int(rng.integers(3, 12))
    logits = rng.normal(0.0, 2.0, size=n)
    targets = rng.integers(0, 2, size=n).astype(np.float64)
    ws = [_away_from_zero(rng, s) for s in [(3, 2), (4,)]]
    l1, l2 = float(rng.uniform(0, 0.5)), float(rng.uniform(0, 0.5))
    got = R.regularized_bce(_t(logits), _t(targets), (w for w in ws), l1=l1, l2=l2)
    data = log_loss(targets, 1.0 / (1.0 + np.exp(-logits)), labels=[0.0, 1.0])
    penalty = sum(l1 * np.abs(w.numpy()).sum() + l2 * (w.numpy() ** 2).sum() for w in ws)
    assert float(got) == pytest.approx(data + penalty, rel=1e-9, abs=1e-12)
    inputs = (_t(logits).requires_grad_(), *(w.clone().requires_grad_() for w in ws))
    assert torch.autograd.gradcheck(
        lambda z, *w: R.regularized_bce(z, _t(targets), (v for v in w), l1=l1, l2=l2), inputs)


@pytest.mark.parametrize("p", [0.1, 0.3, 0.7])
def test_dropout_passes_gradcheck_with_a_fixed_mask(p):
    x = _t(np.random.default_rng(0).normal(size=(4, 6))).requires_grad_()
    assert torch.autograd.gradcheck(lambda v: R.dropout(v, p, generator=torch.Generator().manual_seed(3)), (x,))


def test_layer_grad_norms_combine_to_the_total_norm_of_clip_grad_norm_():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3), nn.Sigmoid(), nn.Linear(3, 2)).double()
    model[2].bias.requires_grad_(False)
    x = _t(np.random.default_rng(1).normal(size=(7, 4)))
    F.mse_loss(model(x), torch.zeros(7, 2, dtype=torch.float64)).backward()
    got = G.layer_grad_norms(model)
    with_grad = [(n, p) for n, p in model.named_parameters() if p.grad is not None]
    assert list(got) == [n for n, _ in with_grad] and "2.bias" not in got
    for n, p in with_grad:
        assert got[n] == pytest.approx(float(torch.linalg.vector_norm(p.grad.flatten())), rel=1e-12)
    total = torch.nn.utils.clip_grad_norm_([p for _, p in with_grad], max_norm=math.inf)
    assert math.sqrt(sum(v ** 2 for v in got.values())) == pytest.approx(float(total), rel=1e-12)


# ---------------------------------------------------------------- lesson 04: gradients of the stated loss

def _stated_loss(X, y, w, b) -> float:
    """L(w, b) = mean((Xw + b − y)²), through scikit-learn."""
    return mean_squared_error(y, X @ w + b)


def _central_gradient(f, theta: np.ndarray, h: float = 1e-6) -> np.ndarray:
    eye = np.eye(theta.size)
    return np.array([(f(theta + h * e) - f(theta - h * e)) / (2 * h) for e in eye])


def _regression(seed: int, n: int, d: int):
    rng = np.random.default_rng(seed)
    X = rng.normal(0.0, 1.0, size=(n, d))
    y = X @ rng.normal(0.0, 2.0, size=d) + rng.normal(0.0, 0.5) + rng.normal(0.0, 0.3, size=n)
    return X, y


@pytest.mark.parametrize("seed,n,d,lr", [(0, 12, 3, 0.05), (1, 30, 1, 0.1), (2, 7, 4, 0.02)])
def test_batch_gd_linear_steps_by_the_central_difference_gradient_of_the_stated_loss(seed, n, d, lr):
    """(w_e − w_{e+1})/lr recovers the gradient the reference used at epoch e: it must be ∇L at (w_e, b_e),
    by central differences in float64 and by autograd; losses[e] must be L(w_{e+1}, b_{e+1})."""
    X, y = _regression(seed, n, d)
    epochs = 6
    runs = [GD.batch_gd_linear(X, y, lr, e) for e in range(epochs + 1)]
    w_final, b_final, losses = runs[-1]
    assert len(losses) == epochs
    for e in range(epochs):
        (w0, b0, _), (w1, b1, _) = runs[e], runs[e + 1]
        theta = np.append(w0, b0)
        used = (theta - np.append(w1, b1)) / lr
        numeric = _central_gradient(lambda th: _stated_loss(X, y, th[:-1], th[-1]), theta)
        np.testing.assert_allclose(used, numeric, rtol=1e-6, atol=1e-8)
        wt = torch.tensor(w0, requires_grad=True)
        bt = torch.tensor(b0, dtype=torch.float64, requires_grad=True)
        ((torch.from_numpy(X) @ wt + bt - torch.from_numpy(y)) ** 2).mean().backward()
        np.testing.assert_allclose(used, np.append(wt.grad.numpy(), bt.grad.item()), rtol=1e-9, atol=1e-12)
        assert losses[e] == pytest.approx(_stated_loss(X, y, w1, b1), rel=1e-12)
    np.testing.assert_allclose(np.append(w_final, b_final), np.append(*runs[epochs][:2]), rtol=0, atol=0)


@pytest.mark.parametrize("seed,n,d,lr,epochs", [(3, 9, 2, 0.02, 3), (4, 15, 3, 0.01, 2), (5, 5, 1, 0.05, 4)])
def test_sgd_linear_equals_sgd_driven_by_central_differences(seed, n, d, lr, epochs):
    """SGD written here from the contract, each step by the central-difference gradient of the per-example
    loss (xᵢ·w + b − yᵢ)², visiting rng.permutation(n) per epoch; losses through scikit-learn."""
    X, y = _regression(seed, n, d)
    sgd_seed = 100 + seed
    w, b, losses = GD.sgd_linear(X, y, lr, epochs, seed=sgd_seed)
    rng = np.random.default_rng(sgd_seed)
    theta = np.zeros(d + 1)
    expected_losses = []
    for _ in range(epochs):
        for i in rng.permutation(n):
            theta = theta - lr * _central_gradient(lambda th: float((X[i] @ th[:-1] + th[-1] - y[i]) ** 2), theta)
        expected_losses.append(_stated_loss(X, y, theta[:-1], theta[-1]))
    np.testing.assert_allclose(np.append(w, b), theta, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(losses, expected_losses, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("seed", range(20))
def test_random_restarts_picks_what_numpy_nanargmin_picks(seed):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(1, 9))
    seeds = [int(s) for s in rng.choice(1000, size=k, replace=False)]
    pool = [0.5, 0.2, 0.2, 1.5, float("nan"), -0.25]          # ties and NaNs on purpose
    values = [float(v) for v in rng.choice(pool, size=k)]
    kinds = [float, np.float64, lambda v: torch.tensor(v, dtype=torch.float64)]
    wrap = kinds[seed % 3]
    models = {s: object() for s in seeds}
    calls = []

    def train_fn(s):
        calls.append(s)
        return models[s], wrap(values[seeds.index(s)])

    best, best_seed, got = RS.random_restarts(train_fn, iter(seeds))
    assert calls == seeds
    assert all(type(v) is float for v in got)
    np.testing.assert_array_equal(np.array(got), np.array(values))
    if np.isnan(values).all():
        assert (best, best_seed) == (None, None)
    else:
        i = int(np.nanargmin(values))                     # first index of the smallest non-NaN value
        assert best_seed == seeds[i] and best is models[seeds[i]]
