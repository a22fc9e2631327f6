"""nbgrader's Execute preprocessor, made to survive the student's kernel.

Stock nbgrader drops a student's whole submission when its kernel dies (e.g. `os._exit`) or stops
answering. Here the failure is caught: the cells that ran keep their outputs, a note at the top of
the notebook says where and why execution stopped, and grading goes on. The grades do not depend
on the kernel anyway (see `VerdictPreprocessor`): each exercise is judged from the student's code
above its check cell, so a kernel killed in exercise k's cell costs exercise k and those after it.
"""

from __future__ import annotations

from typing import Any

from nbformat.v4 import new_markdown_cell

from nbgrader.preprocessors import Execute

NOTE_ID = "grading-note-kernel"


class ResilientExecute(Execute):
    """`Execute` that records a dead or unresponsive kernel instead of failing the submission."""

    def preprocess(self, nb: Any, resources: Any, km: Any = None) -> tuple[Any, Any]:
        try:
            return super().preprocess(nb, resources, km=km)
        except Exception as exc:  # noqa: BLE001 - DeadKernelError, timeouts, startup failures...
            stopped = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.get("execution_count") is None
                            and not c.get("outputs")), None)
            where = f"cell {stopped + 1}" if stopped is not None else "the end of the notebook"
            reason = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else 'no details'}"
            self.log.warning("kernel failure in %s (%s): %s; grading what ran",
                             resources.get("nbgrader", {}).get("student"), where, reason)
            note = new_markdown_cell(
                f"**Grading note.** The notebook's kernel stopped before {where} ({reason[:300]}). "
                "Each exercise was still graded, from your code above its check cell; exercises whose code "
                "could not run lost their point, with the reason in their check cell.")
            note.id = NOTE_ID
            nb.cells.insert(0, note)
            return nb, resources
