"""The per-student messages for submissions nbgrader cannot grade as they are."""

from __future__ import annotations

import nbformat

from nb_helpers.grading.intake import expected_notebooks, submission_problems


def test_a_complete_submission_has_no_problem(tmp_path):
    nbformat.write(nbformat.v4.new_notebook(), tmp_path / "lesson.ipynb")
    assert submission_problems([str(tmp_path / "lesson.ipynb")], ["lesson.ipynb"]) == []


def test_a_renamed_notebook_is_named_in_the_message(tmp_path):
    nbformat.write(nbformat.v4.new_notebook(), tmp_path / "lesson (1).ipynb")
    [problem] = submission_problems([str(tmp_path / "lesson (1).ipynb")], ["lesson.ipynb"])
    assert problem.startswith("the notebook lesson.ipynb is missing from the submission (it contains lesson (1).ipynb: "
                              "was the notebook renamed?); it scores 0")


def test_broken_json_and_invalid_notebooks_are_reported(tmp_path):
    (tmp_path / "a.ipynb").write_text('{"cells": [')
    (tmp_path / "b.ipynb").write_text('{"cells": 3, "nbformat": 4, "nbformat_minor": 5, "metadata": {}}')
    problems = submission_problems([str(tmp_path / "a.ipynb"), str(tmp_path / "b.ipynb")], ["a.ipynb", "b.ipynb"])
    assert len(problems) == 2
    assert problems[0].startswith("a.ipynb is not a valid notebook (NotJSONError")
    assert problems[1].startswith("b.ipynb is not a valid notebook (")


def test_expected_notebooks_come_from_the_source_folder(tmp_path):
    for name in ("b.ipynb", "a.ipynb", "data.csv"):
        (tmp_path / name).write_text("{}")
    assert expected_notebooks(tmp_path) == ["a.ipynb", "b.ipynb"]
