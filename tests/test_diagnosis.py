"""The diagnosis recorded at autograde (nb_helpers.grading.diagnosis): a stable id per declared wrong
answer, the verdict's status and matched wrong answer, the table beside nbgrader's (created without
touching nbgrader's schema; a regrade replaces one student's rows and nothing else), recorded the same
by serial `nbgrader autograde` and `nb-helpers-grade`, optional partial credit, and the loud warning
about an instructor seed that is unset or the example value."""

from __future__ import annotations

import dataclasses
import logging
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import nb_helpers.checks  # noqa: F401 - registers every check
from nb_helpers.checks.declaration import REGISTRY, wrong_answer_ids
from nb_helpers.checks.kernel import check_verdict
from nb_helpers.grading import diagnosis, synthetic
from nb_helpers.grading.diagnosis import METADATA_KEY, Row, load, record, replace_student
from nb_helpers.grading.verdict import seed_warning, warn_seed
from nb_helpers.conventions import check_id
from nb_helpers.verdict_status import VERDICT_STATUSES
from tests.support.course import REPO, instructor_env, nbgrader

DRILL = ["sigmoid", "relu", "softmax", "cross_entropy", "numerical_gradient"]
SEED = "test-seed"  # instructor_env's


# ------------------------------------------------------------------ ids and verdicts

def test_every_declared_wrong_answer_has_a_unique_well_formed_id():
    ids = [i for check in REGISTRY.values() for i in wrong_answer_ids(check)]
    assert len(ids) == len(set(ids)) == sum(len(c.wrong) for c in REGISTRY.values())
    for check in REGISTRY.values():
        for ident in wrong_answer_ids(check):
            assert re.fullmatch(rf"{re.escape(check.id)}:[A-Za-z0-9_][A-Za-z0-9_.-]*", ident), ident
            assert "lambda" not in ident


def test_ids_do_not_depend_on_the_declaration_order():
    for check in REGISTRY.values():
        hints = [w.hint for w in check.wrong]
        unique = [w for w in check.wrong if hints.count(w.hint) == 1]  # same-hint twins are numbered in order
        forward = dict(zip(map(id, check.wrong), wrong_answer_ids(check)))
        backward = dataclasses.replace(check, wrong=list(reversed(check.wrong)))
        reverse = dict(zip(map(id, backward.wrong), wrong_answer_ids(backward)))
        assert {forward[id(w)] for w in unique} == {reverse[id(w)] for w in unique}
        assert all(forward[id(w)] == reverse[id(w)] for w in unique), check.id


def test_an_explicit_name_wins():
    check = REGISTRY["relu"]
    named = dataclasses.replace(check, wrong=[dataclasses.replace(check.wrong[0], name="min_not_max"), *check.wrong[1:]])
    assert wrong_answer_ids(named)[0] == "relu:min_not_max"
    assert wrong_answer_ids(named)[1:] == wrong_answer_ids(check)[1:]


def test_the_verdict_names_the_wrong_answer_whose_hint_it_shows():
    """Each declared wrong answer is recognised as a declared wrong answer (nearly always itself: the
    first that reproduces the first failing case), and the verdict's hint is that one's."""
    itself = total = 0
    for check in REGISTRY.values():
        if getattr(check, "time_limit", None):
            continue  # a check that trains a model for seconds (the capstone): its own tests cover it
        ids = wrong_answer_ids(check)
        for index, wrong in enumerate(check.wrong):
            verdict = check_verdict(check, wrong.func)
            if verdict.status == "delegated":
                continue  # a wrong answer that calls a forbidden routine: the delegation is the diagnosis
            assert verdict.status == "failed" and verdict.mistake in ids, ids[index]
            assert verdict.hint == check.wrong[ids.index(verdict.mistake)].hint
            assert 0 < verdict.n_failed <= verdict.n_cases and verdict.problem
            itself += verdict.mistake == ids[index]
            total += 1
    assert itself >= 0.95 * total


def test_statuses_of_a_blank_a_delegated_an_unexplained_and_a_right_answer():
    check = REGISTRY["relu"]

    def relu(x):
        raise NotImplementedError

    assert check_verdict(check, relu).status == "not_implemented"
    assert check_verdict(check, check.reference, allow_reference=True).status == "passed"
    assert check_verdict(check, check.delegate).status == "delegated"
    wrong = check_verdict(check, lambda x: None)
    assert (wrong.status, wrong.mistake) == ("failed", None) and "returned None" in wrong.problem


# ------------------------------------------------------------------ the table

def _row(student: str, exercise: str, status: str = "passed", position: int = 0, assignment: str = "a1") -> Row:
    return Row(assignment=assignment, student=student, notebook=assignment, exercise=exercise, position=position,
               status=status, mistake=None, hint="", problem="", message="", n_cases=4, n_failed=0,
               credit=1.0 if status == "passed" else 0.0, score=1.0 if status == "passed" else 0.0, max_score=1.0)


def _schema(path: Path) -> list[tuple]:
    with sqlite3.connect(path) as db:
        return sorted(db.execute("SELECT type, name, sql FROM sqlite_master WHERE tbl_name NOT LIKE 'nb_helpers%'"))


def test_the_table_sits_beside_nbgraders_without_touching_its_schema(tmp_path):
    from nbgrader.api import Gradebook

    from nb_helpers.grading.parallel.scratch import in_process_alembic

    path = tmp_path / "gradebook.db"
    url = f"sqlite:///{path}"
    with in_process_alembic(), Gradebook(url) as gb:
        gb.add_student("x")
    before = _schema(path)
    assert load(url, "a1") == []  # no table yet: nothing, and nothing created
    replace_student(url, "a1", "ann", "a1", [_row("ann", "e1"), _row("ann", "e2", "failed", 1)])
    replace_student(url, "a1", "bob", "a1", [_row("bob", "e1", "not_implemented"), _row("bob", "e2", position=1)])
    replace_student(url, "a2", "ann", "a2", [_row("ann", "e9", assignment="a2")])
    assert _schema(path) == before
    with Gradebook(url) as gb:  # nbgrader still opens it
        assert [s.id for s in gb.students] == ["x"]
    # a regrade replaces that student's rows of that assignment, and nothing else
    replace_student(url, "a1", "ann", "a1", [_row("ann", "e2", "timeout", 1)])
    assert [(r.student, r.exercise, r.status) for r in load(url, "a1")] == [
        ("ann", "e2", "timeout"), ("bob", "e1", "not_implemented"), ("bob", "e2", "passed")]
    assert [(r.student, r.exercise) for r in load(url, "a2")] == [("ann", "e9")]
    record(url, [_row("bob", "e2", "memory", 1)])
    assert [r.status for r in load(url, "a1", "bob")] == ["not_implemented", "memory"]


# ------------------------------------------------------------------ the seed

@pytest.mark.parametrize("seed", ["", "change-me", "<a secret for this offering>", "  change-me "])
def test_an_unset_or_example_seed_is_named(seed):
    assert "NB_HELPERS_GRADING_SEED" in seed_warning(seed)


def test_a_real_seed_is_not_warned_about_and_a_bad_one_once(caplog, monkeypatch):
    from nb_helpers.grading import verdict

    monkeypatch.setattr(verdict, "_warned_seeds", set())
    assert seed_warning("s3cret-2025-fall") is None
    log = logging.getLogger("test-seed-warning")
    with caplog.at_level(logging.WARNING, logger="test-seed-warning"):
        warn_seed("change-me", log)
        warn_seed("change-me", log)
    assert sum("WARNING: the instructor seed is unset" in r.getMessage() for r in caplog.records) == 1


# ------------------------------------------------------------------ through real grading

def drill_course(released_course, root: Path, credit: str | None = None) -> Path:
    """The drill of lesson 01's exercises DRILL, released at `root` (with partial credit `credit`)."""
    source = synthetic.read(REPO / "solutions" / "01_activation_functions" / "01_activation_functions.ipynb")
    return released_course(root, drills={"drill": synthetic.drill_assignment(source, DRILL)},
                           config=f'\nc.VerdictPreprocessor.credit = "{credit}"\n' if credit else "")


def forged(nb):
    """A blank submission whose check cells claim, in their metadata, to have passed."""
    nb = synthetic.read(nb) if isinstance(nb, Path) else nb
    for _, cell in diagnosis.check_cells(nb):
        cell.metadata[METADATA_KEY] = {"status": "passed", "credit": 1.0}
    return nb


def recorded(root: Path) -> dict[str, dict[str, tuple[str, str | None]]]:
    got: dict = {}
    for r in load(f"sqlite:///{root / 'gradebook.db'}", "drill"):
        got.setdefault(r.student, {})[r.exercise] = (r.status, r.mistake)
    return got


def grades(root: Path) -> dict[str, dict[str, float]]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        return {s.student.id: {g.name: g.score for g in s.notebooks[0].grades} for s in gb.assignment_submissions("drill")}


@pytest.fixture(scope="module")
def classes(tmp_path_factory, released_course):
    """The same small class graded by serial `nbgrader autograde` and by `nb-helpers-grade`."""
    base = tmp_path_factory.mktemp("diagnosis")
    serial, parallel = drill_course(released_course, base / "serial"), drill_course(released_course, base / "parallel")
    source = synthetic.read(serial / "solutions" / "drill" / "drill.ipynb")
    notebooks, expected = synthetic.mistakes_class(source, "drill", SEED, n_students=5, seed=3)
    notebooks["forger"] = forged(serial / "notebooks" / "drill" / "drill.ipynb")
    expected["forger"] = {e: ("not_implemented", None) for e in DRILL}
    for root in (serial, parallel):
        for student, nb in notebooks.items():
            synthetic.write_submission(nb, root, student, "drill")
    # Two students (two notebooks in one process) graded with the example seed, for its warning; then
    # the whole class with the real seed.
    two = "s00[01]"
    serial_run = nbgrader(serial, "autograde", "drill", "--force", "--student", two,
                          env={"NB_HELPERS_GRADING_SEED": "change-me"})
    nbgrader(serial, "autograde", "drill", "--force")
    parallel_run = subprocess.run([sys.executable, "-m", "nb_helpers.grading.parallel.cli", "drill", "--no-progress",
                                   "--workers", "2", "--student", two], cwd=parallel,
                                  env=instructor_env(NB_HELPERS_GRADING_SEED="change-me"),
                                  capture_output=True, text=True, timeout=900)
    assert parallel_run.returncode == 0, parallel_run.stderr[-3000:]
    subprocess.run([sys.executable, "-m", "nb_helpers.grading.parallel.cli", "drill", "--no-progress", "--force",
                    "--workers", "2"], cwd=parallel, env=instructor_env(), capture_output=True, text=True, timeout=900,
                   check=True)
    return serial, parallel, expected, serial_run, parallel_run, notebooks


@pytest.mark.slow
def test_serial_and_parallel_autograde_record_what_each_student_got_wrong(classes):
    serial, parallel, expected, *_ = classes
    assert recorded(serial) == expected
    assert recorded(parallel) == expected
    assert grades(serial) == grades(parallel)
    rows = load(f"sqlite:///{serial / 'gradebook.db'}", "drill")
    assert {r.status for r in rows} <= set(VERDICT_STATUSES)
    for r in rows:
        assert r.score == (r.max_score if r.status == "passed" else 0.0)
        if r.status == "failed":
            assert r.hint and r.problem and r.message and r.n_failed > 0
        if r.mistake:
            check = REGISTRY[r.exercise]
            assert r.hint == check.wrong[wrong_answer_ids(check).index(r.mistake)].hint


@pytest.mark.slow
def test_autograde_warns_loudly_about_an_example_seed(classes):
    _, _, _, serial_run, parallel_run, _ = classes
    for run in (serial_run, parallel_run):
        assert "WARNING: the instructor seed is unset ('change-me')" in run.stderr
        assert "!" * 78 in run.stderr
    assert serial_run.stderr.count("the instructor seed is unset") == 1  # once per process, not per notebook


@pytest.mark.slow
def test_a_regrade_replaces_one_students_rows_and_nothing_else(classes, tmp_path):
    _, parallel, expected, *_ , notebooks = classes
    student = next(iter(expected))
    before = recorded(parallel)
    synthetic.write_submission(notebooks["forger"], parallel, student, "drill")  # now hands in a blank notebook
    subprocess.run([sys.executable, "-m", "nb_helpers.grading.parallel.cli", "drill", "--no-progress", "--force",
                    "--student", student, "--workers", "1"], cwd=parallel, env=instructor_env(), capture_output=True,
                   text=True, timeout=900, check=True)
    after = recorded(parallel)
    assert after[student] == {e: ("not_implemented", None) for e in DRILL}
    assert {s: v for s, v in after.items() if s != student} == {s: v for s, v in before.items() if s != student}


@pytest.mark.slow
def test_partial_credit_awards_the_fraction_of_cases_passed(tmp_path, released_course):
    root = drill_course(released_course, tmp_path / "course", credit="fraction")
    source = synthetic.read(root / "solutions" / "drill" / "drill.ipynb")
    check = REGISTRY["relu"]
    index = next(i for i, w in enumerate(check.wrong) if 0 < check_verdict(check, w.func).n_failed < check_verdict(
        check, w.func).n_cases)
    synthetic.write_submission(synthetic.with_wrong_answer(source, "relu", synthetic.declared_wrong_answer_source(
        "relu", index)), root, "partial", "drill")
    synthetic.write_submission(source, root, "right", "drill")
    nbgrader(root, "autograde", "drill", "--force")
    row = next(r for r in load(f"sqlite:///{root / 'gradebook.db'}", "drill", "partial") if r.exercise == "relu")
    fraction = (row.n_cases - row.n_failed) / row.n_cases
    assert 0 < fraction < 1 and row.credit == pytest.approx(fraction)
    got = grades(root)
    assert got["partial"]["test_relu"] == pytest.approx(fraction, abs=1e-6)
    assert got["right"] == {check_id(e): 1.0 for e in DRILL}
    assert "partial credit:" in row.message
    nbgrader(root, "generate_feedback", "drill", "--force")
    page = (root / "feedback" / "partial" / "drill" / "drill.html").read_text()
    assert "partial credit:" in page


def test_all_or_nothing_is_the_default():
    from nb_helpers.grading.verdict import VerdictPreprocessor

    assert VerdictPreprocessor().credit == "all"


def test_subcommands_import_their_module_only_when_used(monkeypatch, capsys):
    from nb_helpers.grading.parallel import cli

    monkeypatch.setitem(cli.SUBCOMMANDS, "export", ("nb_helpers.grading.no_such_module", "export_main"))
    assert cli.main(["export", "--format", "canvas"]) == 2
    assert "nb-helpers-grade export: not available" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        cli.main(["report", "--help"])
    assert info.value.code == 0
    assert "difficulty" in capsys.readouterr().out
