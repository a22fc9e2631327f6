"""The clauses of each exercise's contract, and which declared wrong answers exercise them.

A check is only as complete as the wrong answers it is shown to reject. Every `WrongAnswer` names
the one clause it violates; `CONTRACT` lists, per exercise, the clauses its contract and the rules
for every exercise state. `tests/test_clauses.py` fails when a clause of a row has no wrong answer
(or, for `delegation`, no generic test) that violates it alone and is rejected with its hint;
`python -m tools.clause_coverage` prints the matrix.
"""

from __future__ import annotations

from typing import Mapping

#: clause -> what an answer must do to satisfy it.
CLAUSES: Mapping[str, str] = {
    "value": "computes the stated quantity, edge values and conventions included",
    "shape": "returns the stated shape (elementwise: the input's)",
    "dtype": "returns the stated type: 0.0/1.0 floats not booleans, int64 indices, a float not an array, "
             "a tensor where a tensor is stated",
    "stability": "stays finite and raises no NumPy RuntimeWarning over the stated range of inputs",
    "per_slice": "a property that must hold per row, slice, class or feature, not over the whole array",
    "in_place": "updates the stated arguments in place, so that the caller's objects change",
    "no_mutation": "leaves every input it must not update unchanged",
    "generator": "accepts a one-shot iterable of tensors (a generator such as model.parameters())",
    "errors": "raises the stated exception on invalid arguments",
    "randomness": "draws its randomness as stated: reproducible per seed or generator, different between seeds",
    "state": "keeps and updates its own state across calls as stated (a class, buffers, modes)",
    "autograd": "returns a tensor that backpropagates to its inputs, or one without grad where stated",
    "delegation": "implements the work instead of handing it to a library routine or the course's reference",
    "budget": "stays within the stated resources: parameter count, time limit",
}

_ARRAY = ("value", "shape", "no_mutation", "delegation")
_FLOAT = ("value", "dtype", "no_mutation", "delegation")
_SCHEDULE = ("value", "delegation")
_OPTIMIZER = ("value", "in_place", "state", "no_mutation", "delegation")

#: exercise id -> the clauses of its contract (its docstring and the rules every check follows).
CONTRACT: Mapping[str, tuple[str, ...]] = {
    # 01_activation_functions
    "step": _ARRAY + ("dtype",),
    "sigmoid": _ARRAY + ("stability",),
    "tanh": _ARRAY + ("stability",),
    "relu": _ARRAY,
    "leaky_relu": _ARRAY,
    "gelu": _ARRAY,
    "sigmoid_grad": _ARRAY + ("stability",),
    "tanh_grad": _ARRAY + ("stability",),
    "relu_grad": _ARRAY + ("dtype",),
    "softmax": _ARRAY + ("per_slice", "stability"),
    "log_softmax": _ARRAY + ("per_slice", "stability"),
    "cross_entropy": _FLOAT + ("per_slice", "stability"),
    "binary_cross_entropy": _FLOAT + ("stability",),
    "output_activation": ("value", "per_slice", "errors", "delegation"),
    "loss_for": ("value", "errors", "delegation"),
    "numerical_gradient": ("value", "shape", "no_mutation", "delegation"),
    "softmax_cross_entropy_backward": ("value", "shape", "dtype", "stability", "no_mutation", "delegation"),
    "two_layer_net": ("value", "shape", "dtype", "errors", "no_mutation", "delegation"),
    # 02_training_neural_networks
    "train_val_test_split": ("value", "dtype", "randomness", "delegation"),
    "stratified_split": ("value", "dtype", "per_slice", "randomness", "no_mutation", "delegation"),
    "kfold_indices": ("value", "randomness", "delegation"),
    "time_series_split": ("value", "delegation"),
    "EarlyStopping": ("value", "state", "errors", "no_mutation", "delegation"),
    "accuracy": _FLOAT,
    "confusion_matrix": ("value", "shape", "dtype", "no_mutation", "delegation"),
    "precision_recall_f1": ("value", "no_mutation", "delegation"),
    "mse": _FLOAT,
    "mae": _FLOAT,
    "r2_score": _FLOAT,
    "roc_auc": _FLOAT,
    "cross_val_score": ("value", "shape", "dtype", "randomness", "no_mutation", "delegation"),
    "grid_search_cv": ("value", "dtype", "errors", "randomness", "no_mutation", "delegation"),
    "bootstrap_ci": ("value", "dtype", "errors", "randomness", "no_mutation", "delegation"),
    # 03_regularization_and_optimization
    "l1_penalty": ("value", "generator", "autograd", "delegation"),
    "l2_penalty": ("value", "generator", "autograd", "delegation"),
    "regularized_bce": ("value", "generator", "autograd", "no_mutation", "delegation"),
    "soft_threshold": ("value", "dtype", "no_mutation", "delegation"),
    "dropout": ("value", "randomness", "errors", "no_mutation", "delegation"),
    "layer_grad_norms": ("value", "dtype", "delegation"),
    "clip_grad_norm": ("value", "in_place", "generator", "delegation"),
    "step_decay": _SCHEDULE,
    "exponential_decay": _SCHEDULE,
    "inverse_time_decay": _SCHEDULE,
    "sgd_momentum_step": ("value", "in_place", "state", "no_mutation", "delegation"),
    "init_weights": ("value", "shape", "dtype", "randomness", "errors", "delegation"),
    "batchnorm_forward": ("value", "in_place", "state", "errors", "no_mutation", "autograd", "delegation"),
    "ista_lasso": ("value", "dtype", "no_mutation", "delegation"),
    # 04_advanced_training
    "batch_gd_linear": ("value", "no_mutation", "delegation"),
    "sgd_linear": ("value", "randomness", "no_mutation", "delegation"),
    "iterate_minibatches": ("value", "randomness", "no_mutation", "delegation"),
    "SGD": _OPTIMIZER,
    "RMSprop": _OPTIMIZER,
    "Adam": _OPTIMIZER,
    "AdamW": _OPTIMIZER,
    "random_restarts": ("value", "dtype", "randomness", "delegation"),
    "cyclic_lr": _SCHEDULE,
    "warmup_cosine": ("value", "dtype", "errors", "delegation"),
    "lr_range_test": ("value", "dtype", "state", "delegation"),
    "SWA": ("value", "state", "no_mutation", "delegation"),
    "snapshot_ensemble_predict": ("value", "state", "autograd", "delegation"),
    # the capstone: judged by a threshold on a hidden test set (value), with stated rules
    "train_digits": ("value", "shape", "dtype", "budget", "no_mutation", "delegation"),
}

#: clauses every check exercises through a generic test rather than a declared wrong answer.
GENERIC = frozenset({"delegation"})


def covered(check: object) -> set[str]:
    """The clauses a check's declared wrong answers (and the generic tests) exercise."""
    return {getattr(w, "clause", "value") for w in getattr(check, "wrong", ())} | set(GENERIC)


def missing(check: object) -> list[str]:
    """The clauses of the check's contract that nothing exercises."""
    return [c for c in CONTRACT.get(getattr(check, "id"), ()) if c not in covered(check)]
