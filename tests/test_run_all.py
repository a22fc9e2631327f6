"""Run All goes through a fresh, unfinished student notebook in every front end (a blank
exercise prints "not implemented yet").

Google Colab and VS Code stop at the first cell that raises and ignore the `raises-exception` tag
that JupyterLab honours, so a blank exercise's check must not raise there: it prints one line,
`<id>: not implemented yet (0 of 1 point)`, and the notebook runs on. Under nbgrader
(`NBGRADER_EXECUTION` set: validate, autograde) the same check raises
`NotImplementedError("<id>: not implemented yet")`, so a blank still costs its point. Wrong answers
raise everywhere (tests/test_checks.py). The student notebooks are whatever `notebooks/` holds
(`make release` regenerates them from solutions/). Lessons are discovered from solutions/*/.
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


def execute(nb: nbformat.NotebookNode, workdir: Path, nbgrader_execution: str | None, allow_errors: bool) -> None:
    """Execute `nb` in place with this environment's kernel, `NBGRADER_EXECUTION` set to
    `nbgrader_execution` (unset when None); with `allow_errors` False nbclient stops at the first
    error and raises CellExecutionError, as Colab and VS Code stop."""
    from nbclient import NotebookClient

    env = dict(os.environ, **KERNEL_ENV)
    env.pop("NBGRADER_EXECUTION", None)
    if nbgrader_execution is not None:
        env["NBGRADER_EXECUTION"] = nbgrader_execution
    NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=allow_errors, record_timing=False,
                   resources={"metadata": {"path": str(workdir)}}).execute(env=env, cwd=str(workdir))


def describe(nb: nbformat.NotebookNode, index: int) -> str:
    cell = nb.cells[index]
    return f"cell {index} (id {cell.get('id')!r}): {cell.source[:80]!r}"


# ---------------------------------------------------------------- the engine and demos, in this process

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
def test_fresh_student_notebook_runs_to_its_last_cell_as_colab_and_vscode_run_it(lesson, tmp_path):
    """nbclient stopping at the first error, every cell tag removed (no `raises-exception`): the run
    reaches the last cell, and each check cell prints exactly its not-implemented line."""
    from nbclient.exceptions import CellExecutionError

    nb = student_notebook(lesson, keep_tags=False)
    assert not any(c.outputs for c in nb.cells if c.cell_type == "code"), f"notebooks/{lesson} has outputs"
    checks_at = check_cells(nb)
    assert checks_at, f"notebooks/{lesson} has no check cells"
    try:
        execute(nb, tmp_path, nbgrader_execution=None, allow_errors=False)
    except CellExecutionError as exc:
        stopped = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code"
                        and any(o.output_type == "error" for o in c.outputs)), None)
        where = describe(nb, stopped) if stopped is not None else "a cell"
        pytest.fail(f"{lesson}: Run All stopped at {where}:\n{str(exc)[-3000:]}")

    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.source.strip()]
    not_run = [describe(nb, i) for i in code if nb.cells[i].execution_count is None]
    assert not not_run, f"{lesson}: cells that did not run: {not_run}"
    assert nb.cells[code[-1]].execution_count is not None
    for index, exercise in checks_at.items():
        outputs = nb.cells[index].outputs   # one printed line (nbclient may deliver it in several pieces)
        kinds = {(o.output_type, o.get("name")) for o in outputs}
        printed = "".join(o.get("text", "") for o in outputs)
        assert kinds == {("stream", "stdout")} and printed == not_implemented_line(exercise) + "\n", (
            f"{lesson}: the check of {exercise} ({describe(nb, index)}) gave {[dict(o) for o in outputs]}")
    lines = [o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert sum("not implemented yet" in text for text in lines) == len(checks_at), (
        f"{lesson}: a cell other than a check reports a blank exercise")


@pytest.mark.slow
@pytest.mark.parametrize("lesson", LESSONS)
def test_under_nbgrader_each_check_of_a_fresh_student_notebook_raises_not_implemented(lesson, tmp_path):
    """As nbgrader validate executes it (`NBGRADER_EXECUTION=validate`, errors allowed): each check
    cell raises NotImplementedError("<id>: not implemented yet") and no other cell fails."""
    nb = student_notebook(lesson)
    checks_at = check_cells(nb)
    execute(nb, tmp_path, nbgrader_execution="validate", allow_errors=True)
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
