"""`nb_helpers.progress()`: where a student stands in a lesson, and which exercise to do next.

In a lesson's kernel, `progress()` checks every exercise of the lesson against the definitions the
kernel holds now (the objects named like the exercises in the notebook's namespace), quietly, and
shows a table: ✓ passed, ✗ failing (with the first line of the check's message), · not started
(blank, or its cell not run yet), then the next exercise to do (the first one that does not pass).
JupyterLab, Colab and VS Code show it as an HTML table, anything else as plain text.

Checks are cheap (a few milliseconds each), so `progress()` runs them again, except those of
exercises whose check trains a model for seconds (a check declared with a `time_limit`, such as the
capstone's): for those it reuses the verdict the exercise's own check cell gave on the same
object in this kernel, and otherwise says "run its check cell" (? not checked) instead of spending
that time. Under nbgrader (`NBGRADER_EXECUTION` set: validate, autograde) it checks nothing and
prints one line: the feedback starts with the same table, built from the graded check cells
(`from_notebook`, used by `nb_helpers.grading.feedback.ProgressTable`).

This module imports nothing heavy at import time (`import nb_helpers` stays NumPy- and torch-free).
"""

from __future__ import annotations

import contextlib
import html
import io
import re
import sys
import warnings
from dataclasses import dataclass, field
from typing import Any, Mapping

from .conventions import check_cells

__all__ = ["Row", "Progress", "progress", "report", "from_notebook", "detect_lesson",
           "PASSED", "FAILING", "NOT_STARTED", "NOT_CHECKED"]

PASSED, FAILING, NOT_STARTED, NOT_CHECKED = "passed", "failing", "not started", "not checked"
SYMBOL = {PASSED: "✓", FAILING: "✗", NOT_STARTED: "·", NOT_CHECKED: "?"}
DETAIL_WIDTH = 160  # characters of a failure message's first line that the table keeps
GRADING_LINE = ("progress: not computed while nbgrader runs this notebook; "
                "your feedback starts with the same table, built from the graded check cells.")
_LESSON_ID = re.compile(r"\d\d_[A-Za-z0-9_]+")


@dataclass(frozen=True)
class Row:
    """One exercise: its id, its status (PASSED, FAILING, NOT_STARTED, NOT_CHECKED) and a detail."""

    exercise: str
    status: str
    detail: str = ""

    @property
    def symbol(self) -> str:
        return SYMBOL[self.status]


@dataclass
class Progress:
    """The table of a lesson's exercises; displays itself as HTML in Jupyter, as text elsewhere."""

    lesson: str | None
    rows: list[Row] = field(default_factory=list)
    note: str = ""

    @property
    def passed(self) -> int:
        return sum(r.status == PASSED for r in self.rows)

    @property
    def next(self) -> Row | None:
        """The next exercise to do: the first one that does not pass."""
        return next((r for r in self.rows if r.status != PASSED), None)

    def title(self) -> str:
        if not self.rows:
            return "Progress: no lesson found" if self.lesson is None else f"Progress in {self.lesson}: no exercises"
        where = f" in {self.lesson}" if self.lesson else ""
        return f"Progress{where}: {self.passed} of {len(self.rows)} exercises pass"

    def next_line(self) -> str:
        if not self.rows:
            return self.note
        row = self.next
        if row is None:
            return "Next: nothing left, every exercise passes."
        return f"Next: {row.exercise} ({row.status})."

    def text(self) -> str:
        lines = [self.title()]
        width = max((len(r.exercise) for r in self.rows), default=0)
        for r in self.rows:
            lines.append(f"{r.symbol} {r.exercise:<{width}}  {r.status}"
                         + (f": {r.detail}" if r.detail and r.status == FAILING else
                            f" ({r.detail})" if r.detail else ""))
        lines.append(self.next_line())
        return "\n".join(lines)

    def html(self) -> str:
        """One HTML table (no blank lines, so that it also renders inside a Markdown cell)."""
        # JupyterLab right-aligns table cells, and nbgrader's feedback page pads none
        esc, left = _escape, ' style="text-align:left;padding:0.15em 0.6em"'
        body = "".join(
            f'<tr class="nbh-{r.status.replace(" ", "-")}"><td style="text-align:left;padding:0.15em 0.6em;white-space:nowrap">'
            f'<span aria-hidden="true">{r.symbol}</span> {esc(r.status)}</td>'
            f"<td{left}><code>{esc(r.exercise)}</code></td><td{left}>{esc(r.detail)}</td></tr>"
            for r in self.rows)
        table = (f'<table class="nbh-progress"><caption>{esc(self.title())}</caption>'
                 f'<thead><tr><th scope="col"{left}>status</th><th scope="col"{left}>exercise</th>'
                 f'<th scope="col"{left}>details</th></tr></thead><tbody>{body}</tbody></table>') if self.rows else ""
        return f'<div class="nbh-progress">{table}<p><strong>{esc(self.next_line())}</strong></p></div>'

    def _repr_html_(self) -> str:
        return self.html()

    def __repr__(self) -> str:
        return self.text()

    __str__ = __repr__


def _escape(text: str) -> str:
    """HTML-escaped, with `$` and backslashes also escaped (a Markdown cell would read them as maths)."""
    return html.escape(text).replace("$", "&#36;").replace("\\", "&#92;")


def _first_line(message: str) -> str:
    line = next((ln.strip() for ln in str(message).splitlines() if ln.strip()), "")
    return line if len(line) <= DETAIL_WIDTH else line[:DETAIL_WIDTH - 1] + "…"


# ---------------------------------------------------------------- in the kernel

def _namespace() -> Mapping[str, Any]:
    main = sys.modules.get("__main__")
    return vars(main) if main is not None else {}


def _lessons() -> dict[str, list[Any]]:
    """Each lesson's checks in the order of its notebook (`lesson_order.ORDER`; an exercise missing
    there comes last, in the order of registration)."""
    from .checks.declaration import REGISTRY
    from . import checks  # noqa: F401 - registers every lesson's checks
    from .lesson_order import ORDER

    lessons: dict[str, list[Any]] = {}
    for check in REGISTRY.values():
        lessons.setdefault(check.lesson, []).append(check)
    for lesson, found in lessons.items():
        rank = {exercise: i for i, exercise in enumerate(ORDER.get(lesson, ()))}
        found.sort(key=lambda c: rank.get(c.id, len(rank)))  # stable: the unlisted keep their order
    return lessons


def _defined_here(obj: Any) -> bool:
    """Was `obj` defined in the notebook (not imported from a library)?"""
    return getattr(obj, "__module__", None) == "__main__"


def detect_lesson(namespace: Mapping[str, Any] | None = None) -> str | None:
    """The lesson this kernel runs: from the notebook's path where the front end gives it
    (`__session__` in JupyterLab, `__vsc_ipynb_file__` in VS Code), else the lesson most of whose
    exercises are defined in the notebook; None when neither tells."""
    ns = _namespace() if namespace is None else namespace
    lessons = _lessons()
    for key in ("__session__", "__vsc_ipynb_file__"):
        path = str(ns.get(key) or "")
        found = [lesson for lesson in lessons if lesson in path]
        if len(found) == 1:
            return found[0]
    counts = {lesson: sum(_defined_here(ns.get(c.object_name)) for c in checks) for lesson, checks in lessons.items()}
    best = max(counts.values(), default=0)
    winners = [lesson for lesson, n in counts.items() if n == best]
    return winners[0] if best > 0 and len(winners) == 1 else None


def expensive(check: Any) -> bool:
    """Is this check too slow to run again for the table (it trains a model: it has a time limit of its own)?"""
    return getattr(check, "time_limit", None) is not None or bool(getattr(check, "expensive", False))


def _row(check: Any, obj: Any) -> Row:
    from .checks.kernel import LAST_VERDICTS, check_verdict

    if expensive(check):
        obj_seen, verdict = LAST_VERDICTS.get(check.id, (None, None))
        if verdict is None or obj_seen is not obj:
            return Row(check.id, NOT_CHECKED, "run its check cell (it trains a model; progress() does not)")
    else:
        try:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()), \
                    warnings.catch_warnings():
                warnings.simplefilter("ignore")
                verdict = check_verdict(check, obj)
        except AssertionError as exc:  # not even callable
            return Row(check.id, FAILING, _first_line(str(exc)))
        except Exception as exc:  # noqa: BLE001 - the table never fails because of one answer
            return Row(check.id, FAILING, _first_line(f"the check could not run: {type(exc).__name__}: {exc}"))
    if verdict.passed:
        return Row(check.id, PASSED)
    if verdict.not_implemented:
        return Row(check.id, NOT_STARTED)
    return Row(check.id, FAILING, _first_line(verdict.message))


def report(lesson: str | None = None, namespace: Mapping[str, Any] | None = None) -> Progress:
    """The table for `lesson` (default: `detect_lesson`) from the definitions in `namespace`
    (default: the notebook's, `__main__`)."""
    ns = _namespace() if namespace is None else namespace
    lessons = _lessons()
    lesson = lesson or detect_lesson(ns)
    if lesson is None:
        return Progress(None, note="No exercise of any lesson is defined yet: run the notebook's cells first, "
                                   "or name the lesson: progress('01_activation_functions').")
    if lesson not in lessons:
        raise ValueError(f"no lesson {lesson!r}; known lessons: {', '.join(sorted(lessons))}")
    rows = []
    for check in lessons[lesson]:
        obj = ns.get(check.object_name)
        if check.object_name not in ns:
            rows.append(Row(check.id, NOT_STARTED, "its cell has not run yet"))
        else:
            rows.append(_row(check, obj))
    return Progress(lesson, rows)


def progress(lesson: str | None = None) -> None:
    """Show the table of this lesson's exercises and the next one to do (HTML in Jupyter, text elsewhere)."""
    from .checks.kernel import grading

    if grading():
        print(GRADING_LINE)
        return
    table = report(lesson)
    shell = sys.modules.get("IPython")
    ipython = shell.get_ipython() if shell is not None and hasattr(shell, "get_ipython") else None
    if ipython is not None and type(ipython).__name__ != "TerminalInteractiveShell":
        from IPython.display import display

        display(table)
    else:
        print(table.text())


# ---------------------------------------------------------------- from a graded notebook (feedback)

def from_notebook(nb: Any, lesson: str | None = None) -> Progress:
    """The same table for a graded notebook, read from its check cells' outputs (the verdicts that
    autograde wrote there): a printed verdict (the pass line) is ✓, NotImplementedError ·, any other
    error ✗ with the first line of its message, a check cell without output · (not graded)."""
    rows = []
    for exercise, cell in check_cells(nb):
        outputs = cell.get("outputs", [])
        errors = [o for o in outputs if o.get("output_type") == "error"]
        printed = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
        if errors:
            ename, evalue = errors[0].get("ename", ""), str(errors[0].get("evalue", ""))
            if ename == "NotImplementedError":
                rows.append(Row(exercise, NOT_STARTED))
            else:
                rows.append(Row(exercise, FAILING, _first_line(evalue) or ename))
        elif f"{exercise}: not implemented yet" in printed:
            rows.append(Row(exercise, NOT_STARTED))
        elif printed.strip():  # a verdict that passes is printed; every other verdict is an error
            rows.append(Row(exercise, PASSED))
        else:
            rows.append(Row(exercise, NOT_STARTED, "not graded"))
    return Progress(lesson, rows)


# ---------------------------------------------------------------- the exercises' order

def notebook_order(nb: Any) -> list[str]:
    """The exercises of a lesson notebook in the order of their check cells (nbgrader `test_<id>`)."""
    return [exercise for exercise, _ in check_cells(nb)]


def write_order(solutions: str = "solutions") -> str:
    """Rewrite nb_helpers/lesson_order.py from the solution notebooks (`python -m tools.lesson_order`);
    returns its new text."""
    from pathlib import Path

    import nbformat

    order = {}
    for path in sorted(Path(solutions).glob("*/*.ipynb")):
        if path.stem == path.parent.name:
            order[path.stem] = notebook_order(nbformat.read(path, as_version=4))
    body = "".join(f"    {lesson!r}: [\n" + "".join(f"        {e!r},\n" for e in ids) + "    ],\n"
                   for lesson, ids in order.items())
    text = ('"""The order of each lesson\'s exercises in its notebook, for `progress()` (generated from\n'
            'solutions/*/ by `python -m tools.lesson_order`; tests/test_progress.py checks it)."""\n\n'
            f"ORDER: dict[str, list[str]] = {{\n{body}}}\n")
    Path(__file__).with_name("lesson_order.py").write_text(text)
    return text

