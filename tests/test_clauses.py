"""Clause coverage: every clause of every exercise's contract has a declared wrong answer that
violates it alone (its rejection with its own hint is tested in test_checks.py), or a generic test."""

from __future__ import annotations

import pytest

from nb_helpers import checks  # noqa: F401 - registers every lesson
from nb_helpers.checks.clauses import CLAUSES, CONTRACT, missing
from nb_helpers.checks.declaration import REGISTRY

CHECKS = sorted(REGISTRY.values(), key=lambda c: (c.lesson, c.id))


def test_every_exercise_has_its_contract_clauses_listed():
    assert set(CONTRACT) == set(REGISTRY)


def test_contract_clauses_are_known():
    assert {c for clauses in CONTRACT.values() for c in clauses} <= set(CLAUSES)


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.id)
def test_every_wrong_answer_names_a_known_clause(check):
    assert all(w.clause in CLAUSES for w in check.wrong), [w.clause for w in check.wrong]


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.id)
def test_every_contract_clause_is_exercised(check):
    assert missing(check) == [], f"{check.id}: no wrong answer violates {missing(check)}"
