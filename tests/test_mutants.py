"""The declared equivalent mutants (tools/mutation_equivalents/<lesson>.toml) are real, reasoned
and few. Running the mutants themselves is `make mutants` (minutes), not part of this suite; this
only regenerates the mutants of each solution, which takes no test run."""

from __future__ import annotations

import pytest

from tools import mutants

LESSONS = mutants.lessons()


@pytest.fixture(scope="module", params=LESSONS)
def lesson_mutants(request):
    lesson = request.param
    project = mutants.build_project(lesson)
    return lesson, mutants.lesson_mutants(lesson, project)


def test_every_declared_equivalent_still_exists_and_has_a_reason(lesson_mutants):
    lesson, found = lesson_mutants
    existing = {(m.exercise, m.original, m.mutated) for m in found}
    for entry in mutants.load_equivalents(lesson):
        key = (entry["exercise"], entry["original"], entry["mutated"])
        assert key in existing, f"{lesson}: the declared equivalent {key} is no longer a mutant of the solution"
        assert entry.get("reason", "").strip(), f"{lesson}: {key} has no reason"


def test_declared_equivalents_are_at_most_a_tenth_of_the_mutants(lesson_mutants):
    lesson, found = lesson_mutants
    declared = [m for m in found if mutants.is_declared(m, mutants.load_equivalents(lesson))]
    assert len(declared) <= 0.10 * len(found)


def test_every_exercise_has_mutants(lesson_mutants):
    """Each solution is extracted and mutated (a blank extraction would make the score meaningless)."""
    lesson, found = lesson_mutants
    from nb_helpers.checks.declaration import REGISTRY

    exercises = {c.id for c in REGISTRY.values() if c.lesson == lesson} - set(mutants.NOT_MUTATED)
    assert exercises <= {m.exercise for m in found}


def test_only_the_declared_exercises_are_left_out_and_each_says_why():
    """Mutation testing leaves out exactly `NOT_MUTATED`: registered exercises judged by a rule of their
    own (a threshold, `Check.score`), not compared with a reference, each with its reason."""
    from nb_helpers.checks.declaration import REGISTRY

    for exercise, reason in mutants.NOT_MUTATED.items():
        assert exercise in REGISTRY and REGISTRY[exercise].score is not None, exercise
        assert len(reason.split()) >= 8, exercise
    for lesson in LESSONS:
        registered = {c.id for c in REGISTRY.values() if c.lesson == lesson}
        assert set(mutants.mutated_exercises(lesson)) == registered - set(mutants.NOT_MUTATED)


def test_the_report_names_what_is_left_out_and_why(capsys):
    from nb_helpers.checks.declaration import REGISTRY

    lesson = REGISTRY["train_digits"].lesson
    mutants.report({lesson: []})
    out = capsys.readouterr().out
    for exercise, reason in mutants.NOT_MUTATED.items():
        assert f"not mutated: {exercise} ({lesson}): {reason}" in out
