"""The feedback that `nbgrader generate_feedback` writes starts with the student's progress table.

`ProgressTable` (registered in `GenerateFeedback.preprocessors` by the repository's
`nbgrader_config.py`) reads the graded check cells' outputs — the verdicts autograde wrote there —
and inserts, as the notebook's first cell, the table that `nb_helpers.progress()` shows in the
lesson: ✓ passed, ✗ failing with the first line of the message, · not started, and the next
exercise to do (`nb_helpers.progress.from_notebook`).
"""

from __future__ import annotations

from typing import Any

from nbformat.v4 import new_markdown_cell
from nbgrader.preprocessors import NbGraderPreprocessor

CELL_ID = "nbh-progress-feedback"
MARK = "nbh_progress"  # metadata flag of the inserted cell


class ProgressTable(NbGraderPreprocessor):
    """Prepend the progress table of the graded notebook (a Markdown cell holding its HTML)."""

    def preprocess(self, nb: Any, resources: dict) -> tuple[Any, dict]:
        from ..progress import from_notebook

        lesson = (resources.get("nbgrader") or {}).get("assignment")
        table = from_notebook(nb, lesson=str(lesson) if lesson else None)
        if table.rows and not any(cell.get("metadata", {}).get(MARK) for cell in nb.cells):
            cell = new_markdown_cell(table.html(), metadata={MARK: True})
            if (nb.get("nbformat", 4), nb.get("nbformat_minor", 0)) >= (4, 5):
                cell.id = CELL_ID
            else:  # cell ids exist from nbformat 4.5 on; an older notebook must not get one
                cell.pop("id", None)
            nb.cells.insert(0, cell)
        return nb, resources
