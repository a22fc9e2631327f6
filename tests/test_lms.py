"""`nb-helpers-grade export` / `collect`: the round trip with Canvas and Moodle (nb_helpers/grading/lms.py).

The exported files are checked against the column layouts the LMSs document, written out below:

* Canvas, "How do I import grades in the Gradebook?" (Canvas Instructor Guide,
  https://community.canvaslms.com/t5/Instructor-Guide/How-do-I-import-grades-in-the-Gradebook/ta-p/807;
  the same five columns in e.g. Ohio State's guide, https://teaching.resources.osu.edu/toolsets/carmencanvas/
  guides/calculating-final-grades/import-csv-file-carmen-grades): the columns Student, ID, SIS User ID,
  SIS Login ID, Section first, then one column per assignment, `Name (assignment id)` for an existing
  one; Canvas's export (the template of an import) has a "Points Possible" row second.
* Moodle, "Grade import" (https://docs.moodle.org/311/en/Grade_import): the first row names the columns;
  the import form maps one column to the user (useremail, useridnumber or username; email addresses
  compared case-sensitively) and the others to grade items; grades are plain numbers.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from nb_helpers.conventions import check_id
from nb_helpers.grading import lms

pytestmark = pytest.mark.filterwarnings("ignore:.*not in session")  # nbgrader's API on SQLAlchemy 2 (harmless)

LESSON = "01_activation_functions"
LESSON2 = "02_training_neural_networks"


# ---------------------------------------------------------------- the specs, as documented

def check_canvas_import(text: str) -> list[list[str]]:
    """Fail unless `text` has the layout of Canvas's gradebook import; returns its rows."""
    rows = list(csv.reader(io.StringIO(text)))
    header = rows[0]
    assert header[:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"], header
    assert len(header) > 5 and len(set(header)) == len(header)
    for column in header[5:]:
        assert column.strip() and not re.search(r"\(\s*\)$", column), column   # `Name` or `Name (id)`
    assert rows[1][0].strip() == "Points Possible" and rows[1][1:5] == ["", "", "", ""]
    assert all(re.fullmatch(r"\d+(\.\d+)?", v) for v in rows[1][5:]), rows[1]
    ids = [r[1] for r in rows[2:]]
    assert all(re.fullmatch(r"\d+", i) for i in ids) and len(set(ids)) == len(ids), ids
    for row in rows[2:]:
        assert len(row) == len(header)
        assert row[0].strip(), row
        assert all(v == "" or re.fullmatch(r"\d+(\.\d+)?", v) for v in row[5:]), row
    return rows


def check_moodle_import(text: str, identifier: str) -> list[list[str]]:
    """Fail unless `text` is a Moodle grade import with `identifier` (Moodle's field) first."""
    rows = list(csv.reader(io.StringIO(text)))
    header = rows[0]
    assert header[0] == {"useremail": "Email address", "useridnumber": "ID number", "username": "Username"}[identifier]
    assert len(header) >= 2 and len(set(header)) == len(header) and all(h.strip() for h in header)
    keys = [r[0] for r in rows[1:]]
    assert all(keys) and len(set(keys)) == len(keys), keys
    if identifier == "useremail":
        assert all(re.fullmatch(r"[^@\s]+@[^@\s]+", k) for k in keys), keys
    for row in rows[1:]:
        assert len(row) == len(header)
        assert all(v == "" or re.fullmatch(r"\d+(\.\d+)?", v) for v in row[1:]), row
    return rows


# ---------------------------------------------------------------- a gradebook and rosters

def make_gradebook(root: Path) -> str:
    """ada 3/3 and 1/2, blaise 1/3, carl 2/3 (not in the roster), dan enrolled but never submitted;
    lesson 02 has a late penalty of 0.5 for ada."""
    from nbgrader.api import Gradebook

    root.mkdir(parents=True, exist_ok=True)
    (root / "nbgrader_config.py").write_text('c = get_config()\nc.CourseDirectory.course_id = "lms-test"\n')
    url = f"sqlite:///{root / 'gradebook.db'}"
    marks = {LESSON: {"ada": [1, 1, 1], "blaise": [1, 0, 0], "carl": [0, 1, 1]},
             LESSON2: {"ada": [1, 0.5]}}
    with Gradebook(url, course_id="lms-test") as gb:
        for student in ("ada", "blaise", "carl", "dan"):
            gb.add_student(student)
        for lesson, by_student in marks.items():
            cells = len(next(iter(by_student.values())))
            gb.add_assignment(lesson)
            gb.add_notebook(lesson, lesson)
            for i in range(cells):
                gb.add_grade_cell(check_id(i), lesson, lesson, max_score=1, cell_type="code")
            for student, points in by_student.items():
                gb.add_submission(lesson, student)
                for i, p in enumerate(points):
                    gb.find_grade(check_id(i), lesson, lesson, student).auto_score = p
                gb.db.commit()
        gb.find_submission_notebook(LESSON2, LESSON2, "ada").late_submission_penalty = 0.5
        gb.db.commit()
    return url


CANVAS_ROSTER = f"""\ufeffStudent,ID,SIS User ID,SIS Login ID,Section,{LESSON} (4711),Current Score
    Points Possible,,,,,3,
"Lovelace, Ada",101,S1,ada,CS 1,,
"Pascal, Blaise",102,S2,blaise,CS 1,,
"Noether, Emmy",104,S4,emmy,CS 2,,
"Student, Test",105,,,CS 1,,
"""

MOODLE_ROSTER = """Identifier,Full name,Email address,ID number,student_id
Participant 5551,Ada Lovelace,ada@uni.example,S1,ada
Participant 5552,Blaise Pascal,blaise@uni.example,S2,blaise
Participant 5553,Carl Gauss,carl@uni.example,S3,carl
Participant 5554,Emmy Noether,emmy@uni.example,S4,emmy
"""


@pytest.fixture
def course(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    make_gradebook(tmp_path / "course")
    (tmp_path / "canvas.csv").write_text(CANVAS_ROSTER, encoding="utf-8")
    (tmp_path / "moodle.csv").write_text(MOODLE_ROSTER, encoding="utf-8")
    return tmp_path / "course"


# ---------------------------------------------------------------- export

def test_canvas_export_matches_canvas_import_layout_and_lists_missing_students(course, capsys):
    out = course / "canvas_grades.csv"
    code = lms.export_main(["--format", "canvas", "--roster", str(course.parent / "canvas.csv"),
                            "--student-column", "SIS Login ID", "--course-dir", str(course), "--to", str(out)])
    assert code == 0
    text = out.read_bytes().decode("utf-8")
    rows = check_canvas_import(text)
    assert rows == [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", f"{LESSON} (4711)", LESSON2],
        ["    Points Possible", "", "", "", "", "3", "2"],
        ["Lovelace, Ada", "101", "S1", "ada", "CS 1", "3", "1"],          # 1.5 - 0.5 late penalty
        ["Pascal, Blaise", "102", "S2", "blaise", "CS 1", "1", ""],
        ["Noether, Emmy", "104", "S4", "emmy", "CS 2", "", ""],
    ]
    assert text.endswith("\r\n")
    printed = capsys.readouterr().out
    assert "NOT EXPORTED (graded, but not in the roster): carl" in printed
    assert f"no graded submission of {LESSON} (exported blank or 0): emmy" in printed
    assert f"no graded submission of {LESSON2} (exported blank or 0): blaise, emmy" in printed
    assert "roster rows without an nbgrader id (not exported): Student, Test" in printed


def test_moodle_export_matches_moodle_import_layout(course, capsys):
    out = course / "moodle.csv"
    code = lms.export_main(["--format", "moodle", "--roster", str(course.parent / "moodle.csv"),
                            "--assignment", LESSON, "--missing", "zero", "--course-dir", str(course), "--to", str(out)])
    assert code == 0
    rows = check_moodle_import(out.read_text(encoding="utf-8"), "useremail")
    assert rows == [["Email address", LESSON], ["ada@uni.example", "3"], ["blaise@uni.example", "1"],
                    ["carl@uni.example", "2"], ["emmy@uni.example", "0"]]
    printed = capsys.readouterr().out
    assert "NOT EXPORTED" not in printed and f"no graded submission of {LESSON} (exported blank or 0): emmy" in printed

    code = lms.export_main(["--format", "moodle", "--identifier", "idnumber", "--roster", str(course.parent / "moodle.csv"),
                            "--column", f"{LESSON}=Lesson 1", "--course-dir", str(course), "--to", str(out)])
    rows = check_moodle_import(out.read_text(encoding="utf-8"), "useridnumber")
    assert code == 0 and rows[0] == ["ID number", "Lesson 1", LESSON2] and rows[1] == ["S1", "3", "1"]


def test_the_specs_reject_what_the_lms_would_not_import():
    good = ('Student,ID,SIS User ID,SIS Login ID,Section,A (1)\r\n    Points Possible,,,,,3\r\n'
            '"Lovelace, Ada",101,S1,ada,CS 1,3\r\n')
    check_canvas_import(good)
    for bad in (good.replace("SIS Login ID,", ""), good.replace(",3\r\n\"", ",x\r\n\""),
                good.replace("    Points Possible,,,,,3\r\n", ""), good.replace("101", "ada")):
        with pytest.raises(AssertionError):
            check_canvas_import(bad)
    with pytest.raises(AssertionError):
        check_moodle_import("Email address,A\r\nnot-an-email,3\r\n", "useremail")
    with pytest.raises(AssertionError):
        check_moodle_import("Email address,A\r\na@b.c,3\r\na@b.c,2\r\n", "useremail")


def test_bad_input_is_one_line_with_status_2(course, capsys):
    roster = str(course.parent / "canvas.csv")
    assert lms.export_main(["--format", "canvas", "--roster", roster, "--course-dir", str(course)]) == 2
    assert "no column 'student_id'" in capsys.readouterr().err
    assert lms.export_main(["--format", "canvas", "--roster", roster, "--student-column", "SIS Login ID",
                            "--assignment", "99_nothing", "--course-dir", str(course)]) == 2
    assert "no assignment '99_nothing' in the gradebook" in capsys.readouterr().err
    assert lms.export_main(["--format", "canvas", "--roster", str(course.parent / "moodle.csv"),
                            "--course-dir", str(course)]) == 2
    assert "a Canvas roster needs Canvas's columns" in capsys.readouterr().err


# ---------------------------------------------------------------- collect

def notebook_bytes(tag: str) -> bytes:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(f"# {tag}", id="only-cell")])
    return nbformat.writes(nb).encode()


def make_zip(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return path


CANVAS_COLLECT_ROSTER = CANVAS_ROSTER.replace('"Noether, Emmy"', '"Gauss, Carl",103,S3,carl,CS 1,,\n"Noether, Emmy"')


def test_canvas_collect_files_good_notebooks_and_names_each_bad_file(tmp_path, capsys):
    roster = tmp_path / "roster.csv"
    roster.write_text(CANVAS_COLLECT_ROSTER, encoding="utf-8")
    z = make_zip(tmp_path / "submissions.zip", {
        f"lovelaceada_101_9001_{LESSON}.ipynb": notebook_bytes("ada"),
        f"pascalblaise_late_102_9002_{LESSON}-1.ipynb": notebook_bytes("blaise"),   # late, renamed by Canvas
        "pascalblaise_102_9003_notes.txt": b"my notes",                               # not a notebook
        f"noetheremmy_104_9004_{LESSON}.ipynb": b"{not json",                          # not JSON
        "stranger_999_9005_x.ipynb": notebook_bytes("stranger"),                      # unknown student
        "gausscarl_103_9006_a.ipynb": notebook_bytes("carl a"),                       # two for one student
        "gausscarl_103_9007_b.ipynb": notebook_bytes("carl b"),
        "README.txt": b"from the LMS",                                                # not Canvas's pattern
    })
    code = lms.collect_main([LESSON, str(z), "--format", "canvas", "--roster", str(roster),
                             "--student-column", "SIS Login ID", "--course-dir", str(tmp_path)])
    assert code == 1
    submitted = tmp_path / "submitted"
    written = sorted(str(p.relative_to(submitted)) for p in submitted.rglob("*") if p.is_file())
    assert written == [f"ada/{LESSON}/{LESSON}.ipynb", f"blaise/{LESSON}/{LESSON}.ipynb"]
    assert (submitted / "ada" / LESSON / f"{LESSON}.ipynb").read_bytes() == notebook_bytes("ada")
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == f"collected 2 notebooks of {LESSON} into {submitted}"
    assert sorted(printed[1:]) == sorted([
        "  PROBLEM pascalblaise_102_9003_notes.txt: not a notebook (.ipynb) — blaise's file skipped",
        f"  PROBLEM noetheremmy_104_9004_{LESSON}.ipynb: not a valid notebook (not JSON: Expecting property name "
        "enclosed in double quotes at line 1 column 2) — emmy's file skipped",
        "  PROBLEM stranger_999_9005_x.ipynb: Canvas user 999 is not in the roster; skipped",
        "  PROBLEM carl: 2 notebooks (gausscarl_103_9006_a.ipynb, gausscarl_103_9007_b.ipynb); none collected: "
        "keep one in the LMS, or put the right one in place by hand",
        "  PROBLEM README.txt: the name does not follow Canvas's pattern (<name>_<user id>_<file id>_<file>); skipped",
    ])   # every student of the roster had a file in the zip
    # collecting again replaces, and says so
    assert lms.collect_main([LESSON, str(z), "--format", "canvas", "--roster", str(roster),
                             "--student-column", "SIS Login ID", "--course-dir", str(tmp_path)]) == 1
    assert capsys.readouterr().out.splitlines()[0] == (
        f"collected 2 notebooks of {LESSON} into {submitted} (2 replaced: ada, blaise)")


def test_moodle_collect_reads_participant_ids_files_and_folders(tmp_path, capsys):
    roster = tmp_path / "roster.csv"
    roster.write_text(MOODLE_ROSTER, encoding="utf-8")
    z = make_zip(tmp_path / "moodle.zip", {
        f"Ada Lovelace_5551_assignsubmission_file_{LESSON}.ipynb": notebook_bytes("ada"),
        f"Blaise Pascal_5552_assignsubmission_file_/{LESSON}.ipynb": notebook_bytes("blaise"),
        "Blaise Pascal_5552_assignsubmission_onlinetext_onlinetext.html": b"<p>hi</p>",
        "Carl Gauss_5553_assignsubmission_file_x.ipynb": json.dumps({"just": "json"}).encode(),
    })
    code = lms.collect_main([LESSON, str(z), "--format", "moodle", "--roster", str(roster), "--course-dir", str(tmp_path)])
    assert code == 1
    assert (tmp_path / "submitted" / "blaise" / LESSON / f"{LESSON}.ipynb").read_bytes() == notebook_bytes("blaise")
    assert (tmp_path / "submitted" / "ada" / LESSON / f"{LESSON}.ipynb").exists()
    printed = capsys.readouterr().out
    assert "Blaise Pascal_5552_assignsubmission_onlinetext_onlinetext.html: not a notebook (.ipynb) — blaise's file skipped" in printed
    assert "Carl Gauss_5553_assignsubmission_file_x.ipynb: not a valid notebook (JSON without a notebook's cells and nbformat) — carl's file skipped" in printed
    assert "no notebook in the zip for: emmy" in printed


def test_collect_refuses_a_file_that_is_not_a_zip(tmp_path, capsys):
    roster = tmp_path / "roster.csv"
    roster.write_text(MOODLE_ROSTER, encoding="utf-8")
    (tmp_path / "x.zip").write_bytes(b"no zip")
    assert lms.collect_main([LESSON, str(tmp_path / "x.zip"), "--format", "moodle", "--roster", str(roster),
                             "--course-dir", str(tmp_path)]) == 2
    assert "cannot read" in capsys.readouterr().err and not (tmp_path / "submitted").exists()


def test_nb_helpers_grade_dispatches_export_and_collect(tmp_path, capsys):
    from nb_helpers.grading.parallel.cli import main

    roster = tmp_path / "roster.csv"
    roster.write_text(MOODLE_ROSTER, encoding="utf-8")
    z = make_zip(tmp_path / "moodle.zip", {f"Ada Lovelace_5551_assignsubmission_file_{LESSON}.ipynb": notebook_bytes("ada")})
    assert main(["collect", LESSON, str(z), "--format", "moodle", "--roster", str(roster),
                 "--course-dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out.startswith(f"collected 1 notebook of {LESSON}")
    assert main(["export", "--format", "moodle", "--roster", str(tmp_path / "missing.csv")]) == 2
    assert "cannot read the roster" in capsys.readouterr().err
