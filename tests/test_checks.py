"""Every declared check, for every lesson (discovered from the registry): it passes the reference,
rejects each declared wrong answer with that answer's hint, rejects a delegation, and reports
"not implemented yet" for a blank answer (one printed line interactively, NotImplementedError under
nbgrader)."""

from __future__ import annotations

import numpy as np
import pytest

from nb_helpers import checks  # noqa: F401 - registers every lesson
from nb_helpers.checks.collection import collect
from nb_helpers.checks.declaration import REGISTRY
from nb_helpers.checks.judgement import judge
from nb_helpers.checks.kernel import autograde_skip_line, run_check

CHECKS = sorted(REGISTRY.values(), key=lambda c: (c.lesson, c.id))
WRONG = [(c, i) for c in CHECKS for i in range(len(c.wrong))]


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.id)
def test_reference_passes_with_one_stable_line(check, capsys):
    run_check(check, check.reference, allow_reference=True)
    out, err = capsys.readouterr()
    if check.score is not None:   # a scored check (the capstone) says what it measured instead
        assert out.startswith(f"{check.id}: passed — accuracy ") and "test digits it never saw" in out, out
    else:
        assert out == f"{check.id}: all {len(check.all_cases(0))} checks passed\n"
    assert err == ""


@pytest.mark.parametrize("check,index", WRONG, ids=lambda v: v.id if hasattr(v, "id") else str(v))
def test_wrong_answer_is_rejected_with_its_hint(check, index):
    wrong = check.wrong[index]
    with pytest.raises(AssertionError) as info:
        run_check(check, wrong.func)
    assert f"hint: {wrong.hint}" in str(info.value)


@pytest.mark.parametrize("check", [c for c in CHECKS if c.delegate is not None], ids=lambda c: c.id)
def test_delegation_is_rejected(check):
    with pytest.raises(AssertionError) as info:
        run_check(check, check.delegate)
    assert "which computes the answer for you" in str(info.value)


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.id)
def test_every_check_declares_wrong_answers_and_a_delegation(check):
    assert len(check.wrong) >= 2
    assert check.delegate is not None


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.id)
def test_blank_answer_prints_one_line_interactively_and_raises_under_nbgrader(check, capsys, monkeypatch):
    def blank(*args, **kwargs):
        raise NotImplementedError()

    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)   # JupyterLab, Colab, VS Code: Run All goes on
    run_check(check, blank)
    out, err = capsys.readouterr()
    assert (out, err) == (f"{check.id}: not implemented yet (0 of 1 point)\n", "")

    for mode in ("validate", "autograde"):                      # nbgrader: the blank costs its point
        monkeypatch.setenv("NBGRADER_EXECUTION", mode)
        if mode == "autograde" and check.time_limit is not None:  # trains a model: only the grader runs it
            run_check(check, blank)
            assert capsys.readouterr() == (autograde_skip_line(check.id) + "\n", "")
            continue
        with pytest.raises(NotImplementedError, match=f"^{check.id}: not implemented yet$") as info:
            run_check(check, blank)
        assert info.value.__cause__ is None and info.value.__suppress_context__
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.id)
def test_random_cases_are_reproducible_and_differ_between_seeds(check):
    from nb_helpers.checks import plain

    a, b, other = check.all_cases(1), check.all_cases(1), check.all_cases(2)
    assert len(a) == len(b) == len(other)
    enc = lambda cases: plain.encode([plain.to_plain(list(c.fresh()[0])) for c in cases if c.random])  # noqa: E731
    assert enc(a) == enc(b)
    if check.families is not None:
        assert enc(a) != enc(other)


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.id)
def test_check_restores_global_state(check):
    import random

    import torch

    np.random.seed(3)
    random.seed(3)
    torch.manual_seed(3)
    expected = (np.random.random(), random.random(), torch.rand(1).item())
    np.random.seed(3)
    random.seed(3)
    torch.manual_seed(3)
    grad, dtype = torch.is_grad_enabled(), torch.get_default_dtype()
    import contextlib, io
    with contextlib.redirect_stdout(io.StringIO()):
        run_check(check, check.reference, allow_reference=True)
    assert (np.random.random(), random.random(), torch.rand(1).item()) == expected
    assert torch.is_grad_enabled() == grad and torch.get_default_dtype() == dtype


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.id)
def test_hidden_failures_never_show_inputs_or_expected_values(check):
    """At grading, a failure on a random case names its shape and a hint, never values."""
    random_cases = [c for c in check.all_cases(5) if c.random]
    if not random_cases:
        pytest.skip("no random cases")
    verdicts = [judge(check, random_cases, collect(check, w.func, random_cases), redact=True) for w in check.wrong]
    failing = [v for v in verdicts if not v.passed]
    if not failing:
        pytest.skip("the declared wrong answers only fail on visible cases")
    for verdict in failing:
        assert "hidden test case" in verdict.message
        for case in random_cases:
            for arg in case.fresh()[0]:
                if isinstance(arg, np.ndarray) and arg.size > 1:
                    assert np.array2string(arg, precision=4)[:12] not in verdict.message


# ------------------------------------------------------------------ delegation by identity

def _identity_answers(check):
    """Answers that *are* the reference rather than implement it: what a student gets by
    binding the exercise's name to the course's own object, directly or thinly wrapped."""
    import functools
    import types

    ref = check.reference
    answers = {"the reference itself": ref, "a functools.partial of it": functools.partial(ref)}
    if isinstance(ref, types.FunctionType):
        answers["a copy made with types.FunctionType"] = types.FunctionType(
            ref.__code__, ref.__globals__, "copy", ref.__defaults__, ref.__closure__)
        answers["a lambda holding it in a default"] = lambda *a, _f=ref, **k: _f(*a, **k)
        answers["a functools.wraps wrapper"] = functools.wraps(ref)(lambda *a, **k: None)
    if isinstance(ref, type):
        answers["a subclass of it"] = type(ref.__name__, (ref,), {})
    # found by walking the package, as `[v for m in pkgutil.walk_packages(...) ...]` would
    answers["found by walking the package"] = _walk_package_for(check.object_name) or ref
    return answers


def _walk_package_for(name):
    import importlib
    import pkgutil

    import nb_helpers

    for info in pkgutil.walk_packages(nb_helpers.__path__, "nb_helpers."):
        if ".grading" in info.name or info.name.endswith(("widgets", "demos")) or ".checks" in info.name:
            continue
        try:
            module = importlib.import_module(info.name)
        except Exception:  # noqa: BLE001
            continue
        if callable(getattr(module, name, None)):
            return getattr(module, name)
    return None


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.id)
def test_the_reference_handed_to_its_own_check_is_delegation(check):
    for label, answer in _identity_answers(check).items():
        with pytest.raises(AssertionError) as info:
            run_check(check, answer)
        assert "itself, which computes the answer for you" in str(info.value), label


@pytest.mark.parametrize("check", [c for c in CHECKS if c.forbidden], ids=lambda c: c.id)
def test_a_forbidden_routine_bound_to_the_exercise_name_is_delegation(check):
    from nb_helpers.checks.traps import resolve

    tried = 0
    for label in check.forbidden:
        found = resolve(label)
        if found is None or not callable(getattr(*found)):
            continue
        tried += 1
        with pytest.raises(AssertionError) as info:
            run_check(check, getattr(*found))
        assert "itself, which computes the answer for you" in str(info.value), label
    assert tried or not check.forbidden


def test_a_students_own_function_that_keeps_a_helper_in_a_default_is_not_delegation():
    """Isolation allows calling another graded name (sigmoid_grad may use sigmoid)."""
    from nb_helpers.activations import sigmoid as course_sigmoid

    def sigmoid_grad(x, s=course_sigmoid):
        y = s(x)
        return y * (1.0 - y)

    run_check(REGISTRY["sigmoid_grad"], sigmoid_grad)


def test_a_class_of_ones_own_that_borrows_the_reference_methods_is_delegation():
    from nb_helpers.early_stopping import EarlyStopping as Course

    class EarlyStopping:
        __init__ = Course.__init__
        step = Course.step
        restore = Course.restore

    with pytest.raises(AssertionError, match="itself, which computes the answer for you"):
        run_check(REGISTRY["EarlyStopping"], EarlyStopping)
