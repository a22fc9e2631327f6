"""How a check judges an answer, on small declarations made for the test: the kernel's `run_check`
and its lines, the collection of one outcome per case, the versioned outcome record, and the
judgement of the outcomes against the reference."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from nb_helpers import checks
from nb_helpers.checks.declaration import Case, Check, WrongAnswer
from nb_helpers.checks.kernel import run_check


def arr(*v):
    return np.array(v, dtype=float)


def square(x):
    return x * x


SQUARE = Check(id="square", lesson="test", reference=square, cases=[Case((arr(1.0, -2.0, 3.0),))],
               families=lambda rng: [Case((rng.normal(size=(2, 3)),))],
               wrong=[WrongAnswer(lambda x: 2 * x, "square, don't double.")])


def fails(check, fn) -> str:
    with pytest.raises(AssertionError) as info:
        run_check(check, fn)
    return str(info.value)


def test_success_prints_one_stable_line(capsys):
    run_check(SQUARE, square)
    run_check(SQUARE, square)
    assert capsys.readouterr().out == "square: all 2 checks passed\n" * 2


def test_failure_names_the_call_the_expected_and_actual_values_and_a_hint():
    message = fails(SQUARE, lambda x: 2 * x)
    assert message.splitlines()[0] == "square(np.array([1.0, -2.0, 3.0])) returned [ 2. -4.  6.]"
    assert "expected [1. 4. 9.]" in message and "hint: square, don't double." in message


@pytest.mark.parametrize("answer,phrase", [
    (lambda x: (x * x) > 0, "returned booleans"),
    (lambda x: torch.from_numpy(x * x), "returned a torch tensor"),
    (lambda x: (x * x)[None], "expected shape (3,)"),
    (lambda x: None, "`return` statement missing"),
    (lambda x: float((x * x).sum()), "return an array with the input's shape"),
    (lambda x: x * x * np.nan, "returned NaN"),
])
def test_type_and_shape_rules_give_specific_messages(answer, phrase):
    assert phrase in fails(SQUARE, answer)


def test_modifying_the_input_in_place_fails():
    def in_place(x):
        x *= x
        return x

    assert "modified its argument 1 in place" in fails(SQUARE, in_place)


def test_numpy_runtime_warnings_fail_but_other_warnings_do_not():
    def overflowing(x):
        np.exp(np.array([1000.0]))
        return x * x

    def chatty(x):
        warnings.warn("just saying", UserWarning)
        return x * x

    assert "RuntimeWarning" in fails(SQUARE, overflowing)
    run_check(SQUARE, chatty)


def test_errors_raised_by_the_answer_are_reported_with_their_type():
    def broken(x):
        raise KeyError("oops")

    assert "raised KeyError" in fails(SQUARE, broken)


def test_blank_answer_raises_not_implemented_without_a_chain_under_nbgrader(monkeypatch):
    def blank(x):
        raise NotImplementedError()

    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    with pytest.raises(NotImplementedError) as info:
        run_check(SQUARE, blank)
    assert str(info.value) == "square: not implemented yet" and info.value.__cause__ is None


def test_blank_answer_prints_one_line_outside_nbgrader(monkeypatch, capsys):
    def blank(x):
        raise NotImplementedError()

    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    run_check(SQUARE, blank)
    assert capsys.readouterr().out == "square: not implemented yet (0 of 1 point)\n"


def test_passing_something_that_is_not_a_function_is_explained():
    assert "expected the function `square`, got int" in fails(SQUARE, 3)


def test_float_results_accept_python_numpy_and_0d_values_but_not_arrays():
    mean_check = Check(id="mean", lesson="test", reference=lambda x: float(np.mean(x)), result="float",
                       cases=[Case((arr(1.0, 2.0),))])
    for ok in (lambda x: float(np.mean(x)), lambda x: np.mean(x), lambda x: np.array(np.mean(x))):
        run_check(mean_check, ok)
    assert "return a single float" in fails(mean_check, lambda x: np.array([np.mean(x)]))


def test_one_shot_generators_are_built_fresh_for_every_call():
    def params():
        return ((p for p in [torch.ones(2, dtype=torch.float64), torch.ones(3, dtype=torch.float64)]),), {}

    total = Check(id="total", lesson="test", reference=lambda ps: float(sum(p.sum() for p in ps)), result="float",
                  cases=[Case(make=params)])
    run_check(total, lambda ps: float(sum(p.sum() for p in ps)))
    # an answer that iterates the generator twice sees it empty the second time
    assert "returned wrong values" in fails(total, lambda ps: float(sum(1 for _ in ps) + sum(p.sum() for p in ps) - 2))


def test_isolation_binds_other_graded_names_only_while_the_check_runs():
    namespace = {"np": np}
    exec("def sigmoid(x):\n    return x\n\ndef tanh(x):\n    return 2 * sigmoid(2 * x) - 1\n", namespace)
    wrong_sigmoid = namespace["sigmoid"]
    checks.tanh(namespace["tanh"])
    assert namespace["sigmoid"] is wrong_sigmoid


def test_traps_are_removed_after_the_check():
    original = np.tanh
    with pytest.raises(AssertionError):
        checks.tanh(lambda x: np.tanh(x))
    assert np.tanh is original and torch.tanh is torch.tanh


def test_unknown_check_names_list_the_known_ones():
    with pytest.raises(AttributeError, match="known checks: .*sigmoid"):
        checks.sigmoidd  # noqa: B018


def test_hidden_failures_of_structured_results_name_kinds_not_values():
    from nb_helpers.checks.collection import collect
    from nb_helpers.checks.judgement import judge

    secret = Check(id="secret", lesson="test", reference=lambda n: {"word": f"secret-{n}", "n": n}, result="plain",
                   cases=[Case((1,))], families=lambda rng: [Case((int(rng.integers(1000, 9999)),))])
    cases = secret.all_cases(3)
    verdict = judge(secret, cases, collect(secret, lambda n: {"word": "guess", "n": 0.5} if n > 999 else {"word": f"secret-{n}", "n": n}, cases), redact=True)
    hidden_n = cases[-1].args[0]
    assert "hidden test case" in verdict.message
    assert f"secret-{hidden_n}" not in verdict.message and str(hidden_n) not in verdict.message


# ------------------------------------------------------------------ the outcome record

def test_outcomes_travel_as_versioned_json_and_read_back_the_same():
    from nb_helpers.checks import outcome
    from nb_helpers.checks.collection import collect

    cases = SQUARE.all_cases(5)
    sent = collect(SQUARE, lambda x: x * x, cases)
    assert all(o["version"] == outcome.OUTCOME_VERSION and o["status"] == "ok" for o in sent)
    received = outcome.from_json(outcome.to_json(sent), len(cases))
    assert [o["status"] for o in received] == ["ok"] * len(cases)
    np.testing.assert_array_equal(received[0]["value"]["array"], sent[0]["value"]["array"])


@pytest.mark.parametrize("forge, why", [
    (lambda o: {**o, "version": 99}, "version 99"),
    (lambda o: {k: v for k, v in o.items() if k != "version"}, "version None"),
    (lambda o: {**o, "status": "passed"}, "unknown outcome status 'passed'"),
    (lambda o: {**o, "status": "error"}, "malformed error"),
    (lambda o: {**o, "warnings": ["overflow"]}, "malformed warnings"),
    (lambda o: {**o, "mutated": [1]}, "malformed mutated"),
    (lambda o: {**o, "verdict": "passed"}, "unknown fields"),
    (lambda o: ["ok"], "not list"),
])
def test_a_forged_or_garbled_outcome_is_rejected_and_judged_a_failure(forge, why):
    """The grader reads outcomes from the student's process: a record of another version, with an
    unknown status or malformed fields is refused by name, and the judge fails the answer (never
    crashes, never passes it)."""
    from nb_helpers.checks import outcome
    from nb_helpers.checks.collection import collect
    from nb_helpers.checks.judgement import judge

    cases = SQUARE.all_cases(5)
    forged = [forge(o) for o in collect(SQUARE, square, cases)]
    with pytest.raises(outcome.OutcomeError, match=why if why != "not list" else "a record, not list"):
        outcome.from_json(outcome.to_json(forged), len(cases))
    verdict = judge(SQUARE, cases, forged)
    assert not verdict.passed and verdict.message == "square: the code under test returned no usable result."


def test_outcomes_that_are_not_one_per_case_or_not_even_plain_data_are_rejected():
    from nb_helpers.checks import outcome
    from nb_helpers.checks.collection import collect

    cases = SQUARE.all_cases(5)
    sent = outcome.to_json(collect(SQUARE, square, cases))
    with pytest.raises(outcome.OutcomeError, match=f"expected a list of {len(cases) + 1} outcomes"):
        outcome.from_json(sent, len(cases) + 1)
    with pytest.raises(outcome.OutcomeError, match="malformed result data"):
        outcome.from_json("{not json", len(cases))
