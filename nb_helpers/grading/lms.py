"""The round trip with a learning management system: `nb-helpers-grade export` and `collect`.

`export` writes the grades of the gradebook as the file an LMS's gradebook import accepts:

* Canvas ("How do I import grades in the Gradebook?", Canvas Instructor Guide,
  https://community.canvaslms.com/t5/Instructor-Guide/How-do-I-import-grades-in-the-Gradebook/ta-p/807):
  the layout of Canvas's own gradebook export — `Student, ID, SIS User ID, SIS Login ID, Section`,
  then one column per assignment, named `Name (assignment id)` for an existing assignment (a column
  without an id creates a new assignment), and Canvas's `Points Possible` row second.
* Moodle ("Grade import", MoodleDocs, https://docs.moodle.org/311/en/Grade_import): a CSV whose first
  row names the columns; one column identifies the user (mapped in the import form from "Email
  address" to useremail, "ID number" to useridnumber, or "Username" to username) and each further
  column holds the grades of one grade item.

The roster is a CSV from the LMS (Canvas's gradebook export; any Moodle export or participants
list) holding, for each student, their nbgrader id (column `student_id`, or `--student-column`) and
their LMS identity. Students graded but absent from the roster, and students of the roster without a
graded submission, are listed, never silently dropped.

`collect` takes the zip of submissions an LMS downloads in bulk (Canvas: "Download Submissions",
files named `<name>[_late]_<user id>_<file id>_<original name>`; Moodle: "Download all
submissions", files or folders named `<Full name>_<participant id>_assignsubmission_file_...`) and
files each student's notebook as `submitted/<student>/<lesson>/<lesson>.ipynb`, the student found
through the roster's LMS id column (Canvas: `ID`; Moodle: `Identifier`, as in Moodle's grading
worksheet, "Participant 123456"). Each bad file gets its own line (not a notebook, not JSON, an
unknown student, several notebooks for one student); every other student is collected.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import re
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

FORMATS = ("canvas", "moodle")
CANVAS_IDENTITY = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
CANVAS_POINTS = "    Points Possible"  # Canvas's second row, as its export writes it
MOODLE_IDENTIFIERS = {"email": "Email address", "idnumber": "ID number", "username": "Username"}
#: Roster columns that may hold each Moodle identifier (Moodle's export labels first).
MOODLE_ALIASES = {"email": ("Email address", "Email", "email"), "idnumber": ("ID number", "idnumber", "ID Number"),
                  "username": ("Username", "username")}
DEFAULT_STUDENT_COLUMN = "student_id"
DEFAULT_LMS_ID_COLUMN = {"canvas": "ID", "moodle": "Identifier"}
CANVAS_FILE = re.compile(r"^(?P<name>[^_/]+)_(?:late_|LATE_)?(?P<lms_id>\d+)_(?P<file_id>\d+)_(?P<original>.+)$")
MOODLE_FILE = re.compile(r"^(?P<name>[^/]+?)_(?P<lms_id>\d+)_assignsubmission_(?P<plugin>[a-z]+)_?/?(?P<original>.+)$")
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]*$")


class LmsError(RuntimeError):
    """Bad input (roster, zip, arguments): one line, exit status 2."""


# ---------------------------------------------------------------- the roster

@dataclass
class Roster:
    """The LMS's students: their rows (column -> value) and which column is the nbgrader id."""

    columns: list[str]
    rows: list[dict[str, str]]
    student_column: str
    unnamed: list[str] = field(default_factory=list)  # rows without an nbgrader id (a label for each)

    def by_student(self) -> dict[str, dict[str, str]]:
        return {row[self.student_column].strip(): row for row in self.rows if row.get(self.student_column, "").strip()}

    def column(self, *candidates: str) -> str | None:
        lowered = {c.lower(): c for c in self.columns}
        return next((lowered[c.lower()] for c in candidates if c.lower() in lowered), None)


def read_roster(path: Path, student_column: str | None = None) -> Roster:
    """Read a roster CSV (UTF-8, a byte-order mark allowed); Canvas's "Points Possible" row and
    its other header rows (no student in them) are skipped."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise LmsError(f"cannot read the roster {path}: {exc}") from None
    reader = csv.DictReader(io.StringIO(text))
    columns = [c for c in (reader.fieldnames or []) if c is not None]
    if not columns:
        raise LmsError(f"the roster {path} is empty (a CSV whose first row names its columns)")
    wanted = student_column or DEFAULT_STUDENT_COLUMN
    match = next((c for c in columns if c.strip().lower() == wanted.strip().lower()), None)
    if match is None:
        raise LmsError(f"the roster {path} has no column {wanted!r} holding the nbgrader student ids "
                       f"(its columns: {', '.join(columns)}); name one with --student-column")
    rows, unnamed = [], []
    for row in reader:
        row = {k: (v or "") for k, v in row.items() if k is not None}
        first = (row.get(columns[0]) or "").strip()
        if first in ("Points Possible", "Muted", "Manual Posting") or not any(v.strip() for v in row.values()):
            continue  # Canvas's header rows, blank lines
        if not row.get(match, "").strip():
            unnamed.append(first or "(a row without a name)")
            continue
        rows.append(row)
    return Roster(columns, rows, match, unnamed)


# ---------------------------------------------------------------- grades

@dataclass
class Grades:
    """What the gradebook holds: per lesson its maximum score and each submitted student's score."""

    max_score: dict[str, float]
    scores: dict[str, dict[str, float]]  # lesson -> student -> score
    students: list[str]  # every student of the gradebook


def grades_from_gradebook(db_url: str, course_id: str, lessons: Sequence[str] | None = None) -> Grades:
    """Read the scores (after late penalties, as `nbgrader export` writes them) from nbgrader's gradebook."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(db_url, course_id=course_id) as gb:
        known = [a.name for a in gb.assignments]
        chosen = list(lessons) if lessons else known
        unknown = [a for a in chosen if a not in known]
        if unknown:
            raise LmsError(f"no assignment {', '.join(map(repr, unknown))} in the gradebook "
                           f"(it has: {', '.join(known) or 'none'})")
        students = sorted(s.id for s in gb.students)
        max_score, scores = {}, {}
        for lesson in chosen:
            max_score[lesson] = float(gb.find_assignment(lesson).max_score)
            scores[lesson] = {}
            for student in students:
                try:
                    submission = gb.find_submission(lesson, student)
                except MissingEntry:
                    continue
                scores[lesson][student] = max(0.0, float(submission.score) - float(submission.late_submission_penalty or 0.0))
    return Grades(max_score, scores, students)


def _number(x: float) -> str:
    return f"{x:.4f}".rstrip("0").rstrip(".")


# ---------------------------------------------------------------- export

@dataclass
class Export:
    header: list[str]
    rows: list[list[str]]
    not_in_roster: list[str]  # graded students the LMS does not know
    not_graded: dict[str, list[str]]  # lesson -> roster students without a graded submission
    unnamed: list[str]


def canvas_column(lesson: str, roster: Roster, given: dict[str, str]) -> str:
    """The Canvas column of `lesson`: as given, else the roster's `lesson (id)` column, else the
    bare name (Canvas then creates the assignment)."""
    if lesson in given:
        return given[lesson]
    pattern = re.compile(rf"^{re.escape(lesson)}\s*\(\d+\)$")
    return next((c for c in roster.columns if pattern.match(c.strip())), lesson)


def build_export(fmt: str, grades: Grades, roster: Roster, *, identifier: str = "email",
                 columns: dict[str, str] | None = None, missing: str = "blank") -> Export:
    """The rows of the LMS's import file (see the module's docstring for each layout)."""
    lessons = list(grades.max_score)
    by_student = roster.by_student()
    empty = "0" if missing == "zero" else ""

    def cell(lesson: str, student: str) -> str:
        score = grades.scores[lesson].get(student)
        return empty if score is None else _number(score)

    if fmt == "canvas":
        missing_cols = [c for c in CANVAS_IDENTITY if c not in roster.columns]
        if missing_cols:
            raise LmsError(f"a Canvas roster needs Canvas's columns {', '.join(CANVAS_IDENTITY)} (export the "
                           f"gradebook from Canvas); this one lacks {', '.join(missing_cols)}")
        header = list(CANVAS_IDENTITY) + [canvas_column(lesson, roster, columns or {}) for lesson in lessons]
        rows = [[CANVAS_POINTS, "", "", "", ""] + [_number(grades.max_score[lesson]) for lesson in lessons]]
        rows += [[row[c] for c in CANVAS_IDENTITY] + [cell(lesson, sid) for lesson in lessons]
                 for sid, row in by_student.items()]
    elif fmt == "moodle":
        if identifier not in MOODLE_IDENTIFIERS:
            raise LmsError(f"--identifier must be one of {', '.join(MOODLE_IDENTIFIERS)}")
        source = roster.column(*MOODLE_ALIASES[identifier])
        if source is None:
            raise LmsError(f"the roster has no {MOODLE_IDENTIFIERS[identifier]!r} column for --identifier {identifier} "
                           f"(its columns: {', '.join(roster.columns)})")
        header = [MOODLE_IDENTIFIERS[identifier]] + [(columns or {}).get(lesson, lesson) for lesson in lessons]
        rows, blank_ids = [], []
        for sid, row in by_student.items():
            if not row[source].strip():
                blank_ids.append(sid)
                continue
            rows.append([row[source].strip()] + [cell(lesson, sid) for lesson in lessons])
        if blank_ids:
            raise LmsError(f"students without a {MOODLE_IDENTIFIERS[identifier]!r} in the roster: {', '.join(blank_ids)}")
    else:
        raise LmsError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    graded = sorted({s for lesson in lessons for s in grades.scores[lesson]})
    not_in_roster = [s for s in graded if s not in by_student]
    not_graded = {lesson: [s for s in by_student if s not in grades.scores[lesson]] for lesson in lessons}
    return Export(header, rows, not_in_roster, {k: v for k, v in not_graded.items() if v}, roster.unnamed)


def write_csv(path: Path, header: list[str], rows: Iterable[list[str]]) -> None:
    """UTF-8, comma-separated, quoted where needed (RFC 4180), CRLF line ends as both LMSs export."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\r\n")
        writer.writerow(header)
        writer.writerows(rows)


def _course(course_dir: Path, db_url: str | None) -> tuple[str, str, Path]:
    """(gradebook URL, course id, submitted folder) as nbgrader sees them from `course_dir`."""
    from .course import load_course

    course = load_course(course_dir.resolve(), db_url, None)
    cd = course.coursedir
    return cd.db_url, cd.course_id, Path(cd.root) / cd.submitted_directory


def _pairs(values: Sequence[str] | None, option: str) -> dict[str, str]:
    out = {}
    for value in values or ():
        lesson, sep, column = value.partition("=")
        if not sep or not lesson or not column:
            raise LmsError(f"{option} takes LESSON=COLUMN, got {value!r}")
        out[lesson] = column
    return out


def export_main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="nb-helpers-grade export",
        description="Write the gradebook's scores as the CSV that Canvas's or Moodle's gradebook import accepts.")
    parser.add_argument("--format", required=True, choices=FORMATS, help="the LMS")
    parser.add_argument("--roster", required=True, type=Path,
                        help="CSV from the LMS with each student's nbgrader id and LMS identity "
                             "(Canvas: its gradebook export)")
    parser.add_argument("--student-column", default=None,
                        help=f"roster column holding the nbgrader student id (default: {DEFAULT_STUDENT_COLUMN})")
    parser.add_argument("--assignment", action="append", help="a lesson to export (repeat; default: every assignment)")
    parser.add_argument("--column", action="append", metavar="LESSON=COLUMN",
                        help="the LMS's column for a lesson, e.g. '01_activation_functions=Lesson 1 (4711)'")
    parser.add_argument("--identifier", default="email", choices=list(MOODLE_IDENTIFIERS),
                        help="Moodle: how the import identifies users (default: email)")
    parser.add_argument("--missing", default="blank", choices=("blank", "zero"),
                        help="the score of a roster student without a graded submission (default: blank, "
                             "which leaves the LMS's grade as it is)")
    parser.add_argument("--to", type=Path, help="output file (default: <format>_grades.csv)")
    parser.add_argument("--course-dir", type=Path, default=Path.cwd(), help="course root (default: current directory)")
    parser.add_argument("--db-url", help="gradebook URL (default: the course's)")
    args = parser.parse_args(argv)
    out = args.to or Path(f"{args.format}_grades.csv")
    # nbgrader's gradebook runs `alembic` from PATH, as `nb-helpers-grade` lets it
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    try:
        roster = read_roster(args.roster, args.student_column)
        db_url, course_id, _ = _course(args.course_dir, args.db_url)
        grades = grades_from_gradebook(db_url, course_id, args.assignment)
        result = build_export(args.format, grades, roster, identifier=args.identifier,
                              columns=_pairs(args.column, "--column"), missing=args.missing)
        write_csv(out, result.header, result.rows)
    except LmsError as exc:
        print(f"nb-helpers-grade export: {exc}", file=sys.stderr)
        return 2
    students = len(result.rows) - (1 if args.format == "canvas" else 0)
    print(f"wrote {out}: {students} students, columns {', '.join(result.header)}")
    for line in missing_lines(result):
        print(line)
    return 0


def missing_lines(result: Export) -> list[str]:
    lines = []
    if result.not_in_roster:
        lines.append(f"  NOT EXPORTED (graded, but not in the roster): {', '.join(result.not_in_roster)}")
    for lesson, students in result.not_graded.items():
        lines.append(f"  no graded submission of {lesson} (exported blank or 0): {', '.join(students)}")
    if result.unnamed:
        lines.append(f"  roster rows without an nbgrader id (not exported): {', '.join(result.unnamed)}")
    return lines


# ---------------------------------------------------------------- collect

@dataclass
class Collected:
    written: dict[str, Path] = field(default_factory=dict)  # student -> notebook written
    replaced: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    without_submission: list[str] = field(default_factory=list)  # roster students with no file in the zip


def _lms_ids(roster: Roster, column: str) -> dict[str, str]:
    """LMS id (digits only: "Participant 123456" -> "123456") -> nbgrader id."""
    match = roster.column(column)
    if match is None:
        raise LmsError(f"the roster has no column {column!r} with the LMS's ids (its columns: "
                       f"{', '.join(roster.columns)}); name one with --lms-id-column")
    out: dict[str, str] = {}
    for student, row in roster.by_student().items():
        digits = re.sub(r"\D", "", row.get(match, ""))
        if digits:
            out[digits] = student
    return out


def _check_notebook(data: bytes) -> str | None:
    """None for a notebook; else what is wrong with it."""
    try:
        nb = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        return "not a notebook (not UTF-8 text)"
    except json.JSONDecodeError as exc:
        return f"not a valid notebook (not JSON: {exc.msg} at line {exc.lineno} column {exc.colno})"
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list) or "nbformat" not in nb:
        return "not a valid notebook (JSON without a notebook's cells and nbformat)"
    return None


def collect(fmt: str, zip_path: Path, roster: Roster, lesson: str, submitted: Path, *,
            lms_id_column: str | None = None, notebook: str | None = None) -> Collected:
    """File each student's notebook from the LMS's zip as `submitted/<student>/<lesson>/<notebook>.ipynb`."""
    if fmt not in FORMATS:
        raise LmsError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    ids = _lms_ids(roster, lms_id_column or DEFAULT_LMS_ID_COLUMN[fmt])
    pattern = CANVAS_FILE if fmt == "canvas" else MOODLE_FILE
    who = "Canvas user" if fmt == "canvas" else "Moodle participant"
    target_name = f"{notebook or lesson}.ipynb"
    result = Collected()
    try:
        archive = zipfile.ZipFile(zip_path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise LmsError(f"cannot read {zip_path} as a zip file: {exc}") from None
    found: dict[str, list[tuple[str, bytes]]] = {}
    seen: set[str] = set()  # students with a file in the zip, good or bad
    with archive:
        for info in archive.infolist():
            name = info.filename
            base = name.rsplit("/", 1)[-1]
            if info.is_dir() or name.startswith("__MACOSX/") or base.startswith("._") or base in (".DS_Store",):
                continue
            m = pattern.match(name if fmt == "moodle" else base)
            if m is None:
                result.problems.append(f"{name}: the name does not follow {fmt.capitalize()}'s pattern "
                                       f"({'<name>_<user id>_<file id>_<file>' if fmt == 'canvas' else '<Full name>_<participant id>_assignsubmission_file_<file>'}); skipped")
                continue
            student = ids.get(m.group("lms_id"))
            if student is None:
                result.problems.append(f"{name}: {who} {m.group('lms_id')} is not in the roster; skipped")
                continue
            seen.add(student)
            if not base.lower().endswith(".ipynb"):
                result.problems.append(f"{name}: not a notebook (.ipynb) — {student}'s file skipped")
                continue
            data = archive.read(info)
            problem = _check_notebook(data)
            if problem:
                result.problems.append(f"{name}: {problem} — {student}'s file skipped")
                continue
            found.setdefault(student, []).append((name, data))
    for student, files in sorted(found.items()):
        if not _SAFE_ID.match(student):
            result.problems.append(f"{student!r}: not usable as a folder name; none of its files collected")
            continue
        if len(files) > 1:
            result.problems.append(f"{student}: {len(files)} notebooks ({', '.join(n for n, _ in files)}); "
                                   "none collected: keep one in the LMS, or put the right one in place by hand")
            continue
        path = submitted / student / lesson / target_name
        if path.exists():
            result.replaced.append(student)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".part")
        tmp.write_bytes(files[0][1])
        os.replace(tmp, path)
        result.written[student] = path
    result.without_submission = [s for s in roster.by_student() if s not in seen]
    return result


def collect_main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="nb-helpers-grade collect",
        description="File the notebooks of an LMS's bulk download (zip) as submitted/<student>/<lesson>/<lesson>.ipynb.")
    parser.add_argument("lesson", help="assignment id, as for `nbgrader autograde`")
    parser.add_argument("zip", type=Path, help="the zip of submissions the LMS downloads")
    parser.add_argument("--format", required=True, choices=FORMATS, help="the LMS that made the zip")
    parser.add_argument("--roster", required=True, type=Path, help="CSV with each student's nbgrader id and LMS id")
    parser.add_argument("--student-column", default=None,
                        help=f"roster column holding the nbgrader student id (default: {DEFAULT_STUDENT_COLUMN})")
    parser.add_argument("--lms-id-column", default=None,
                        help="roster column holding the LMS's id that the zip's file names carry "
                             "(default: ID for Canvas, Identifier for Moodle)")
    parser.add_argument("--notebook", help="the notebook's name in the assignment (default: the lesson's)")
    parser.add_argument("--course-dir", type=Path, default=Path.cwd(), help="course root (default: current directory)")
    args = parser.parse_args(argv)
    try:
        roster = read_roster(args.roster, args.student_column)
        submitted = _submitted_directory(args.course_dir)
        result = collect(args.format, args.zip, roster, args.lesson, submitted,
                         lms_id_column=args.lms_id_column, notebook=args.notebook)
    except LmsError as exc:
        print(f"nb-helpers-grade collect: {exc}", file=sys.stderr)
        return 2
    n = len(result.written)
    print(f"collected {n} notebook{'' if n == 1 else 's'} of {args.lesson} into {submitted}"
          + (f" ({len(result.replaced)} replaced: {', '.join(result.replaced)})" if result.replaced else ""))
    for line in result.problems:
        print(f"  PROBLEM {line}")
    if result.without_submission:
        print(f"  no notebook in the zip for: {', '.join(result.without_submission)}")
    return 1 if result.problems else 0


def _submitted_directory(course_dir: Path) -> Path:
    """The course's submitted folder: nbgrader's CourseDirectory.submitted_directory under its root,
    read from the course's nbgrader_config.py when there is one."""
    if (course_dir / "nbgrader_config.py").exists():
        try:
            return _course(course_dir, None)[2]
        except Exception:  # noqa: BLE001 - a config nbgrader cannot load: nbgrader's default layout
            pass
    return course_dir.resolve() / "submitted"


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m nb_helpers.grading.lms export|collect ...`."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in ("export", "collect"):
        print("usage: python -m nb_helpers.grading.lms {export,collect} ...", file=sys.stderr)
        return 2
    return (export_main if argv[0] == "export" else collect_main)(argv[1:])


if __name__ == "__main__":
    raise SystemExit(main())
