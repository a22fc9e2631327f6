"""Every declared check, for every lesson (discovered from the registry): it passes the reference,
rejects each declared wrong answer with that answer's hint, rejects a delegation, and reports
"not implemented yet" for a blank answer."""

from __future__ import annotations

import numpy as np
import pytest

from nb_helpers import checks  # noqa: F401 - registers every lesson
from nb_helpers.checks.engine import REGISTRY, judge, collect, run_check

CHECKS = sorted(REGISTRY.values(), key=lambda c: (c.lesson, c.id))
WRONG = [(c, i) for c in CHECKS for i in range(len(c.wrong))]


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.id)
def test_reference_passes_with_one_stable_line(check, capsys):
    run_check(check, check.reference)
    out, err = capsys.readouterr()
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
def test_blank_answer_reports_not_implemented(check):
    def blank(*args, **kwargs):
        raise NotImplementedError()

    with pytest.raises(NotImplementedError, match=f"^{check.id}: not implemented yet$"):
        run_check(check, blank)


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
        run_check(check, check.reference)
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
