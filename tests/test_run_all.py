"""Run All goes through a fresh, unfinished student notebook in every front end (a blank
exercise prints "not implemented yet").

Google Colab and VS Code stop at the first cell that raises and ignore the `raises-exception` tag
that JupyterLab honours, so a blank exercise's check must not raise there: it prints one line,
`<id>: not implemented yet (0 of 1 point)`, and the notebook runs on. A fresh student notebook runs
to its last cell that way in a Colab-like runtime, its tags removed (tests/test_colab.py), and in
JupyterLab with this environment's kernel (tests/test_browser.py). Under nbgrader
(`NBGRADER_EXECUTION` set: validate, autograde) the same check raises
`NotImplementedError("<id>: not implemented yet")`, so a blank still costs its point: here. Wrong
answers raise everywhere (tests/test_checks.py). The student notebooks are whatever `notebooks/`
holds (`make release` regenerates them from solutions/).
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest

from nb_helpers import checks  # noqa: F401 - registers the checks
from nb_helpers.checks.declaration import REGISTRY
from nb_helpers.checks.kernel import not_implemented_line, run_check
from nb_helpers.demos import passes, yours_or_reference
from tests.support.course import LESSONS, check_cells, student_notebook

#: The environment `make` gives every command (one thread, no progress bars, inline figures).
KERNEL_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "TQDM_DISABLE": "1",
              "PYDEVD_DISABLE_FILE_VALIDATION": "1", "MPLBACKEND": "module://matplotlib_inline.backend_inline"}


def execute(nb: nbformat.NotebookNode, workdir: Path, nbgrader_execution: str | None) -> None:
    """Execute `nb` in place with this environment's kernel and `NBGRADER_EXECUTION` set to
    `nbgrader_execution` (unset when None), every cell even after an error (as nbgrader does)."""
    from nbclient import NotebookClient

    env = dict(os.environ, **KERNEL_ENV)
    env.pop("NBGRADER_EXECUTION", None)
    if nbgrader_execution is not None:
        env["NBGRADER_EXECUTION"] = nbgrader_execution
    NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True, record_timing=False,
                   resources={"metadata": {"path": str(workdir)}}).execute(env=env, cwd=str(workdir))


def describe(nb: nbformat.NotebookNode, index: int) -> str:
    cell = nb.cells[index]
    return f"cell {index} (id {cell.get('id')!r}): {cell.source[:80]!r}"


# ---------------------------------------------------------------- a check's lines and the demos, in this process

def test_blank_check_prints_its_line_outside_nbgrader_and_raises_under_it(monkeypatch, capsys):
    check = REGISTRY["sigmoid"]

    def blank(x):
        raise NotImplementedError()

    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    run_check(check, blank)
    assert capsys.readouterr().out == "sigmoid: not implemented yet (0 of 1 point)\n" == not_implemented_line("sigmoid") + "\n"
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    with pytest.raises(NotImplementedError, match="^sigmoid: not implemented yet$"):
        run_check(check, blank)


@pytest.mark.parametrize("nbgrader_execution", [None, "validate"])
def test_demos_use_the_reference_while_the_exercise_is_blank(monkeypatch, capsys, nbgrader_execution):
    """A blank answer never "passes" (the check only prints outside nbgrader): demos keep the reference."""
    def blank(x):
        raise NotImplementedError()

    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    if nbgrader_execution:
        monkeypatch.setenv("NBGRADER_EXECUTION", nbgrader_execution)
    assert passes("sigmoid", blank) is False
    assert yours_or_reference("sigmoid", blank) is REGISTRY["sigmoid"].reference
    assert capsys.readouterr().out == "(this demo uses the reference sigmoid: yours does not pass its check yet)\n"
    assert passes("sigmoid", REGISTRY["sigmoid"].reference) is False  # the reference itself is delegation


# ---------------------------------------------------------------- a fresh student notebook, end to end

@pytest.mark.slow
@pytest.mark.parametrize("lesson", LESSONS)
def test_under_nbgrader_each_check_of_a_fresh_student_notebook_raises_not_implemented(lesson, tmp_path):
    """As nbgrader validate executes it (`NBGRADER_EXECUTION=validate`, errors allowed): each check
    cell raises NotImplementedError("<id>: not implemented yet") and no other cell fails."""
    nb = student_notebook(lesson)
    checks_at = check_cells(nb)
    execute(nb, tmp_path, nbgrader_execution="validate")
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        errors = [(o.ename, o.evalue) for o in cell.outputs if o.output_type == "error"]
        if index in checks_at:
            assert errors == [("NotImplementedError", f"{checks_at[index]}: not implemented yet")], (
                f"{lesson}: {describe(nb, index)} gave {errors}")
            assert not any("not implemented yet (0 of 1 point)" in o.get("text", "") for o in cell.outputs)
        else:
            assert not errors, f"{lesson}: {describe(nb, index)} failed under nbgrader: {errors}"
