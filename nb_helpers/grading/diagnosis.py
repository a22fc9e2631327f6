"""What each student got wrong, per exercise: the diagnosis recorded at autograde, beside the grades.

`VerdictPreprocessor` writes, into each check cell's metadata (key `METADATA_KEY`), what it found:
the status (a `nb_helpers.verdict_status.VerdictStatus`), for a failure the declared wrong answer the first failing case
matched (its stable id, `nb_helpers.checks.declaration.wrong_answer_ids`; None: unexplained), the hint
and the message the student read, how many cases failed and the credit (1 or 0; with
`VerdictPreprocessor.credit = "fraction"`, the fraction of cases passed). `RecordDiagnosis`,
registered just after `SaveAutoGrades`, stores those rows in the gradebook's own database (SQLite or
PostgreSQL, through its URL) in a table of its own, `nb_helpers_diagnosis`, created when missing
(nbgrader's tables and schema are never touched), and sets a partial credit's score. A regrade
replaces that student's rows for that notebook and nothing else. `nb-helpers-grade` records them
the same way: its coordinator runs `RecordDiagnosis` with the other gradebook writers.
`nb_helpers.grading.report` turns them into the instructor's report.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import asdict, dataclass, fields
from typing import Any, Iterable

from nbgrader.preprocessors import NbGraderPreprocessor

from ..conventions import check_cells, check_id, nbgrader_meta
from ..verdict_status import VerdictStatus

TABLE_NAME = "nb_helpers_diagnosis"
METADATA_KEY = "nb_helpers_diagnosis"


@dataclass
class Row:
    """One student's result on one exercise."""

    assignment: str
    student: str
    notebook: str
    exercise: str
    position: int            # the exercise's place in the notebook (0: first check cell)
    status: VerdictStatus
    mistake: str | None      # declared wrong answer id, or None (unexplained, or not a failure)
    hint: str
    problem: str             # what was wrong, as shown (hidden cases redacted): groups unexplained failures
    message: str             # the whole message the student read
    n_cases: int
    n_failed: int
    credit: float            # fraction of the exercise's points awarded
    score: float
    max_score: float


def _table(metadata: Any) -> Any:
    from sqlalchemy import Column, DateTime, Float, Integer, PrimaryKeyConstraint, String, Table, Text

    return Table(
        TABLE_NAME, metadata,
        Column("assignment", String(128), nullable=False), Column("student", String(128), nullable=False),
        Column("notebook", String(128), nullable=False), Column("exercise", String(128), nullable=False),
        Column("position", Integer, nullable=False), Column("status", String(32), nullable=False),
        Column("mistake", String(255)), Column("hint", Text), Column("problem", Text), Column("message", Text),
        Column("n_cases", Integer), Column("n_failed", Integer), Column("credit", Float),
        Column("score", Float), Column("max_score", Float), Column("recorded", DateTime),
        PrimaryKeyConstraint("assignment", "student", "notebook", "exercise", name=f"{TABLE_NAME}_pk"))


def _open(db_url: str) -> tuple[Any, Any]:
    """(engine, table) for the gradebook at `db_url`, the table created if missing."""
    from sqlalchemy import MetaData, create_engine

    engine = create_engine(db_url)
    table = _table(MetaData())
    table.create(engine, checkfirst=True)
    return engine, table


def _values(rows: Iterable[Row]) -> list[dict]:
    now = _dt.datetime.now(_dt.timezone.utc).replace(tzinfo=None)
    return [dict(asdict(r), recorded=now) for r in rows]


def replace_student(db_url: str, assignment: str, student: str, notebook: str | None, rows: list[Row]) -> None:
    """Replace, in one transaction, every row of `student` for `assignment` (and `notebook`, unless
    None) with `rows`; other students' rows and other assignments are untouched."""
    engine, table = _open(db_url)
    try:
        where = (table.c.assignment == assignment) & (table.c.student == student)
        if notebook is not None:
            where &= table.c.notebook == notebook
        with engine.begin() as conn:
            conn.execute(table.delete().where(where))
            if rows:
                conn.execute(table.insert(), _values(rows))
    finally:
        engine.dispose()


def record(db_url: str, rows: list[Row]) -> None:
    """Insert `rows`, each replacing the row of the same (assignment, student, notebook, exercise)."""
    engine, table = _open(db_url)
    try:
        with engine.begin() as conn:
            for r in rows:
                conn.execute(table.delete().where(
                    (table.c.assignment == r.assignment) & (table.c.student == r.student)
                    & (table.c.notebook == r.notebook) & (table.c.exercise == r.exercise)))
            if rows:
                conn.execute(table.insert(), _values(rows))
    finally:
        engine.dispose()


def load(db_url: str, assignment: str, student: str | None = None) -> list[Row]:
    """The rows of `assignment` (of one student, if given), by student then position in the notebook."""
    from sqlalchemy import MetaData, create_engine, inspect, select

    engine = create_engine(db_url)
    try:
        if not inspect(engine).has_table(TABLE_NAME):
            return []
        table = _table(MetaData())
        query = select(table).where(table.c.assignment == assignment)
        if student is not None:
            query = query.where(table.c.student == student)
        query = query.order_by(table.c.student, table.c.notebook, table.c.position)
        names = [f.name for f in fields(Row)]
        with engine.connect() as conn:
            return [Row(**{n: m[n] for n in names}) for m in conn.execute(query).mappings()]
    finally:
        engine.dispose()


def rows_of(nb: Any, assignment: str, student: str, notebook: str) -> list[Row]:
    """The rows the verdicts left in an autograded notebook's check cells."""
    rows = []
    for position, (exercise, cell) in enumerate(check_cells(nb)):
        found = cell.metadata.get(METADATA_KEY)
        if not isinstance(found, dict):
            continue
        points = float(nbgrader_meta(cell).get("points") or 0)
        credit = float(found.get("credit", 1.0 if found.get("status") == "passed" else 0.0))
        rows.append(Row(assignment=assignment, student=student, notebook=notebook, exercise=exercise,
                        position=position, status=str(found.get("status", "failed")), mistake=found.get("mistake"),
                        hint=str(found.get("hint", "")), problem=str(found.get("problem", "")),
                        message=str(found.get("message", "")), n_cases=int(found.get("n_cases", 0)),
                        n_failed=int(found.get("n_failed", 0)), credit=credit, score=round(credit * points, 6),
                        max_score=points))
    return rows


class RecordDiagnosis(NbGraderPreprocessor):
    """Store the diagnosis `VerdictPreprocessor` left in the check cells into the gradebook's database
    (table `nb_helpers_diagnosis`, replacing this student's rows for this notebook), and give a
    partial credit (`VerdictPreprocessor.credit = "fraction"`) its score. Register it in
    `Autograde.autograde_preprocessors` just after `SaveAutoGrades` (before `AssignLatePenalties`)."""

    def preprocess(self, nb: Any, resources: dict) -> tuple[Any, dict]:
        info = resources.get("nbgrader", {})
        db_url, assignment = info.get("db_url"), str(info.get("assignment", ""))
        student, notebook = str(info.get("student", "")), str(info.get("notebook", ""))
        if not db_url or not assignment or not student:
            return nb, resources
        rows = rows_of(nb, assignment, student, notebook)
        partial = [r for r in rows if 0 < r.credit < 1]
        if partial:
            from nbgrader.api import Gradebook

            with Gradebook(db_url) as gb:
                for r in partial:
                    grade = gb.find_grade(check_id(r.exercise), notebook, assignment, student)
                    grade.auto_score = r.score
                gb.db.commit()
        replace_student(db_url, assignment, student, notebook, rows)
        return nb, resources
