"""Check of lesson 04's capstone `train_digits`: one training run, judged by a threshold.

The check is a *scored* check (`Check.score`): the student's recipe is not compared with the
reference recipe but run once — seeded, on one thread — and the model it returns is validated
(a `torch.nn.Module`, at most `MAX_PARAMETERS` parameters, (N, 10) float logits for a float32
(N, 64) batch) and scored by its accuracy on a test set drawn from the digits the function never
receives (`nb_helpers.capstone`). In the notebook the test set is the visible one (public seed); at
grading a hidden one drawn from the grading seed, and the grader stops the run after `TIME_LIMIT_S`
seconds (`Check.time_limit`). The probe runs in the student's process and returns only plain data
(the predicted classes, the parameter count, the output's shape, the training time in whole seconds
rounded up, so that two runs of the same answer report the same); the accuracy is computed by the judge,
in the trusted process, against labels the probe never sends back.
"""

from __future__ import annotations

import math
import random as pyrandom
import time
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

from .. import capstone as C
from .declaration import Case, Check, WrongAnswer, register, wrong_answer_ids
from .outcome import Verdict

LESSON = "04_advanced_training"

#: Where the digits come from: trapped while train_digits (and the model it returns) runs.
DATA_LOADERS = ("sklearn.datasets.load_digits", "sklearn.datasets._base.load_digits",
                "nb_helpers.minibatches.digits_arrays", "nb_helpers.capstone.seen_pool",
                "nb_helpers.capstone.split_pool", "nb_helpers.capstone.hidden_test_set",
                "nb_helpers.capstone.practice_arrays", "nb_helpers.capstone.visible_test_set")

HINT_ACCURACY = ("train it better: scale the pixels (they run from 0 to 16), use an adaptive optimizer such as AdamW "
                 "with a warm-up + cosine schedule, train for more epochs and keep the weights of the epoch with the "
                 "best validation loss (early stopping).")
HINT_PARAMETERS = (f"keep the model within {C.MAX_PARAMETERS:,} parameters (sum(p.numel() for p in "
                   "model.parameters())): fewer or narrower hidden layers.")
HINT_SHAPE = ("the model must map a float32 (N, 64) batch to (N, 10) logits, one score per digit: check the last "
              "layer's out_features, and do not flatten, squeeze or softmax-sample the output away.")
HINT_MODULE = "return the trained torch.nn.Module itself (not its state_dict, its predictions or a tuple)."
HINT_DATA = ("train only on the four arrays train_digits receives: loading the digits data set inside it is not "
             "allowed (the test images are digits it never receives).")
HINT_MUTATION = ("leave X_train, y_train, X_val and y_val unchanged (no X_train /= 16 in place): scale a copy, "
                 "or put the scaling in the model.")
HINT_FORWARD = ("the returned model must accept a float32 (N, 64) tensor on the CPU: keep its parameters in float32 "
                "(no .double()) and reshape inside forward if your layers need it.")
HINT_CRASH = "train_digits must run to its end on the arrays it receives: read the error above."


def _time_hint(limit: float) -> str:
    return (f"train faster: fewer epochs or earlier stopping, a smaller model, larger mini-batches (the grader stops "
            f"train_digits after {limit:g} s on one thread).")


# ------------------------------------------------------------------ cases and probe

def _case(seed: int) -> Case:
    """The one call of a check: the seen pool split by `seed`, the test set of `seed` (images in the
    private `_X_test`, labels in `_y_test`: the probe hands neither to train_digits, and the judge uses
    its own copy of the labels) and a training seed."""
    def make() -> tuple[tuple, dict]:
        X_train, y_train, X_val, y_val = C.split_pool(seed % 2**32)
        X_test, y_test = C.hidden_test_set(seed)
        return (X_train, y_train, X_val, y_val), {"seed": seed % 10_000, "_X_test": X_test, "_y_test": y_test}

    return Case(make=make, hint=HINT_ACCURACY)


def _cases(rng: np.random.Generator) -> list[Case]:
    return [_case(C.draw_case_seed(rng))]


def _probe(obj: Any, args: tuple, kwargs: dict) -> Any:
    """Train once (seeded, one thread), then describe the returned model as plain data."""
    X_test = kwargs["_X_test"]
    call_kwargs = {k: v for k, v in kwargs.items() if not k.startswith("_")}
    seed = int(call_kwargs.get("seed", 0))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(seed)
        np.random.seed(seed)
        pyrandom.seed(seed)
        start = time.perf_counter()
        model = obj(*args, **call_kwargs)
        seconds = math.ceil(time.perf_counter() - start)   # whole seconds: the outcome must not depend on timing noise
    finally:
        torch.set_num_threads(threads)
    if not isinstance(model, nn.Module):
        return {"module": "no", "returned": type(model).__name__, "seconds": seconds}
    described: dict[str, Any] = {"module": "yes", "seconds": seconds,
                                 "parameters": int(sum(p.numel() for p in model.parameters()))}
    try:
        model.eval()
        with torch.no_grad():
            out = model(torch.tensor(X_test, dtype=torch.float32))
    except Exception as exc:  # noqa: BLE001 - a model that cannot predict is an outcome
        described["forward_error"] = f"{type(exc).__name__}: {str(exc)[:200]}"
        return described
    if not isinstance(out, torch.Tensor):
        described["output"] = type(out).__name__
        return described
    described["output"] = "tensor"
    described["shape"] = np.array(out.shape, dtype=np.int64)
    described["floating"] = "yes" if out.is_floating_point() else "no"
    if out.dim() == 2 and out.shape[1] == 10:
        described["predictions"] = out.argmax(dim=1).to(torch.int64).numpy()
    return described


# ------------------------------------------------------------------ judging (trusted side)

def _field(value: Any, name: str) -> Any:
    """A field of the probe's plain description: its str, or its array (None when absent)."""
    node = (value or {}).get("items", {}).get(name) if isinstance(value, dict) else None
    if not isinstance(node, dict):
        return None
    if node.get("type") == "str":
        return node.get("value")
    return np.asarray(node["array"]) if "array" in node else None


def _diagnose(check: Check, case: Case, got: dict, redact: bool) -> tuple[str | None, str]:
    """(what is wrong, the hint), or (None, what the pass line reports) when the model passes."""
    limit = check.time_limit or C.TIME_LIMIT_S
    _, kwargs = case.fresh()
    where = "the hidden test set" if redact else "the visible test set"
    status = got.get("status")
    if status == "missing":
        note = got.get("note")
        return ("is not defined" + (f": {note}" if note else " (did its solution cell run without errors?)")), HINT_CRASH
    if status == "delegated":
        label = got.get("delegated_to", "a forbidden routine")
        if got.get("identity") or label in check.forbidden_with_reference()[len(check.forbidden):]:
            verb = "is" if got.get("identity") else "called"
            return (f"{verb} {label}{' itself' if got.get('identity') else ''}, which computes the answer for you",
                    f"write your own training function; {check.id} may not use {label}.")
        return f"loaded the data set itself through {label}", HINT_DATA
    if status == "error":
        err = got.get("error", {})
        if err.get("type") == "MemoryError":
            return "ran out of memory (MemoryError) while training", HINT_PARAMETERS
        return f"raised {err.get('type', 'an error')} while training: {err.get('message', '')}", HINT_CRASH
    if got.get("mutated"):
        return f"modified its {', '.join(got['mutated'])} in place", HINT_MUTATION
    value = got.get("value")
    if _field(value, "module") != "yes":
        returned = _field(value, "returned") or "something unreadable"
        return f"returned an object of type {returned}, not a torch.nn.Module", HINT_MODULE
    seconds = _field(value, "seconds")
    if seconds is not None and float(seconds) > limit:
        return f"took {float(seconds):.0f} s to train; the grader allows {limit:g} s", _time_hint(limit)
    parameters = _field(value, "parameters")
    if parameters is None or int(parameters) > C.MAX_PARAMETERS:
        return (f"returned a model with {int(parameters or 0):,} parameters; at most {C.MAX_PARAMETERS:,} are allowed",
                HINT_PARAMETERS)
    if _field(value, "forward_error"):
        error = _field(value, "forward_error")
        return f"returned a model that fails on a float32 (N, 64) batch ({error if not redact else error.split(':')[0]})", \
            HINT_FORWARD
    n = len(kwargs["_y_test"])
    shape = _field(value, "shape")
    if _field(value, "output") != "tensor" or shape is None:
        return f"returned a model whose output is a {_field(value, 'output')}, not a tensor of logits", HINT_SHAPE
    if tuple(int(s) for s in shape) != (n, 10) or _field(value, "floating") != "yes":
        shown = "(N, " + ", ".join(str(int(s)) for s in shape[1:]) + ")" if len(shape) else "a scalar"
        kind = "" if _field(value, "floating") == "yes" else " of integers"
        return f"returned a model that maps a float32 (N, 64) batch to {shown}{kind}; expected (N, 10) logits", HINT_SHAPE
    predictions = _field(value, "predictions")
    if predictions is None or predictions.shape != (n,):
        return "returned predictions that could not be read", HINT_SHAPE
    score = C.accuracy(predictions, kwargs["_y_test"])
    if score < C.THRESHOLD:
        return (f"reached accuracy {score:.3f} on {where} ({n} digits it never saw); at least {C.THRESHOLD:.2f} "
                "is needed"), HINT_ACCURACY
    test_set = "hidden test digits" if redact else "test digits"
    return None, (f"accuracy {score:.3f} on {n} {test_set} it never saw (threshold {C.THRESHOLD:.2f}), "
                  f"{int(parameters):,} parameters")


def score(check: Check, cases: Sequence[Case], outcomes: Sequence[dict], redact: bool = False) -> Verdict:
    """The verdict on the training runs (one per case): the first problem with its hint, else a pass."""
    n = len(cases)
    first: tuple[str, str] | None = None
    failures = 0
    reports = []
    for case, got in zip(cases, outcomes):
        problem, hint = _diagnose(check, case, got, redact and case.random)
        if problem is not None:
            failures += 1
            first = first or (problem, hint)
        else:
            reports.append(hint)
    if first is None:
        return Verdict(check.id, True, n, summary=f"{check.id}: passed — {'; '.join(reports)}")
    problem, hint = first
    ids = wrong_answer_ids(check)
    mistake = next((ids[i] for i, w in enumerate(check.wrong) if w.hint == hint), None)
    status = outcomes[0].get("status") if outcomes else None
    reason = "delegated" if status == "delegated" else "missing" if status == "missing" else \
        "memory" if "MemoryError" in problem else "value"
    hidden = redact and cases[0].random
    seed = "…" if hidden else cases[0].fresh()[1]["seed"]
    call = f"{check.object_name}(X_train, y_train, X_val, y_val, seed={seed})"
    where = "on a hidden test case, " if hidden else ""
    message = f"{check.id}: {where}{call} {problem}.\nhint: {hint}\n({failures} of {n} checks failed)"
    return Verdict(check.id, False, n, message, reason=reason, mistake=mistake, hint=hint, problem=problem,
                   n_failed=failures)


# ------------------------------------------------------------------ wrong answers (small and fast)

def _tiny_mlp(X_train, y_train, epochs: int = 3, out: int = 10, hidden: int = 32, double: bool = False) -> nn.Module:
    """A quickly trained small MLP (for the wrong answers that fail for another reason than accuracy)."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, out))
    if double:
        model = model.double()
    X = torch.tensor(np.asarray(X_train) / 16.0, dtype=torch.float64 if double else torch.float32)
    y = torch.tensor(np.asarray(y_train) % out)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(epochs):
        loss = nn.functional.cross_entropy(model(X), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model


def _plain_sgd_two_epochs(X_train, y_train, X_val, y_val, seed=0):
    return C.train_sgd_baseline(X_train, y_train, X_val, y_val, seed=seed)


def _too_many_parameters(X_train, y_train, X_val, y_val, seed=0):
    model = nn.Sequential(nn.Linear(64, 1024), nn.ReLU(), nn.Linear(1024, 64), nn.ReLU(), nn.Linear(64, 10))
    return model  # 133,898 parameters: too many, whatever it would learn


def _one_output(X_train, y_train, X_val, y_val, seed=0):
    return _tiny_mlp(X_train, y_train, out=1)


def _returns_state_dict(X_train, y_train, X_val, y_val, seed=0):
    return _tiny_mlp(X_train, y_train).state_dict()


def _loads_the_data_itself(X_train, y_train, X_val, y_val, seed=0):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return _tiny_mlp(X, y)


def _scales_in_place(X_train, y_train, X_val, y_val, seed=0):
    X_train /= 16.0
    return _tiny_mlp(X_train * 16.0, y_train)


def _float64_model(X_train, y_train, X_val, y_val, seed=0):
    return _tiny_mlp(X_train, y_train, double=True)


def _delegate(X_train, y_train, X_val, y_val, seed=0):
    return C.train_digits(X_train, y_train, X_val, y_val, seed=seed)


register(Check(
    id="train_digits", lesson=LESSON, reference=C.train_digits, result="plain", probe=_probe,
    cases=[], families=_cases, score=score, time_limit=C.TIME_LIMIT_S,
    forbidden=DATA_LOADERS, hint=HINT_ACCURACY, delegate=_delegate,
    wrong=[WrongAnswer(_plain_sgd_two_epochs, HINT_ACCURACY, clause="value"),
           WrongAnswer(_too_many_parameters, HINT_PARAMETERS, clause="budget"),
           WrongAnswer(_one_output, HINT_SHAPE, clause="shape"),
           WrongAnswer(_returns_state_dict, HINT_MODULE, clause="dtype"),
           WrongAnswer(_float64_model, HINT_FORWARD, clause="dtype"),
           WrongAnswer(_scales_in_place, HINT_MUTATION, clause="no_mutation"),
           WrongAnswer(_loads_the_data_itself, HINT_DATA, clause="delegation")],
))
