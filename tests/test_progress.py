"""`nb_helpers.progress()` (nb_helpers/progress.py): the student's table of a lesson's exercises, in
this process, in a real kernel (nbclient) and in JupyterLab (Playwright), and the same table at the
top of the feedback (nb_helpers/grading/feedback.py)."""

from __future__ import annotations

import dataclasses
import sys
from typing import Any, Iterator

import nbformat
import pytest

from nb_helpers import checks  # noqa: F401 - registers the checks
from nb_helpers import progress as progress_function
from nb_helpers.checks.declaration import REGISTRY
from nb_helpers.checks.kernel import LAST_VERDICTS, run_check
from nb_helpers.progress import (
    FAILING, GRADING_LINE, NOT_CHECKED, NOT_STARTED, PASSED, Row, detect_lesson, from_notebook, report,
)
from nb_helpers.conventions import CHECK_TAG, check_id, is_setup_cell
from tests.support.course import LESSONS, REPO

LESSON = "01_activation_functions"
LESSON_IDS = [c.id for c in REGISTRY.values() if c.lesson == LESSON]

#: A student's cells: step right, sigmoid wrong (the textbook formula overflows), tanh still blank;
#: the other exercises' cells have not run.
STUDENT = '''\
import numpy as np

def step(x):
    return (x > 0).astype(np.float64)

def sigmoid(x):
    return 1 / (1 + np.exp(-x))

def tanh(x):
    # YOUR CODE HERE
    raise NotImplementedError()
'''

SIGMOID_LINE = ("sigmoid(np.array([-1000.0, -30.0, 0.0, 30.0, 1000.0])) triggered a NumPy RuntimeWarning "
                "(overflow encountered in exp)")
WIDTH = max(map(len, LESSON_IDS))
EXPECTED_TEXT = "\n".join(
    ["Progress in 01_activation_functions: 1 of 18 exercises pass",
     f"✓ {'step':<{WIDTH}}  passed",
     f"✗ {'sigmoid':<{WIDTH}}  failing: {SIGMOID_LINE}",
     f"· {'tanh':<{WIDTH}}  not started"]
    + [f"· {e:<{WIDTH}}  not started (its cell has not run yet)" for e in LESSON_IDS[3:]]
    + ["Next: sigmoid (failing)."])


def student_namespace() -> dict[str, Any]:
    ns: dict[str, Any] = {"__name__": "__main__"}
    exec(compile(STUDENT, "<student>", "exec"), ns)
    return ns


# ---------------------------------------------------------------- in this process

def test_the_table_of_a_half_done_lesson_is_exact():
    assert LESSON_IDS[:3] == ["step", "sigmoid", "tanh"] and len(LESSON_IDS) == 18
    table = report(namespace=student_namespace())
    assert table.lesson == LESSON and table.passed == 1
    assert table.next == Row("sigmoid", FAILING, SIGMOID_LINE)
    assert table.text() == EXPECTED_TEXT == repr(table)
    html = table.html()
    assert html.startswith('<div class="nbh-progress"><table class="nbh-progress"><caption>Progress in '
                           '01_activation_functions: 1 of 18 exercises pass</caption>')
    assert ('<tr class="nbh-failing"><td style="text-align:left;padding:0.15em 0.6em;white-space:nowrap"><span aria-hidden="true">✗</span> '
            'failing</td><td style="text-align:left;padding:0.15em 0.6em"><code>sigmoid</code></td>'
            f'<td style="text-align:left;padding:0.15em 0.6em">{SIGMOID_LINE}</td></tr>') in html
    assert html.count("<tr class=") == 18 and "\n\n" not in html
    assert html.endswith("<p><strong>Next: sigmoid (failing).</strong></p></div>")


def test_detects_the_lesson_from_definitions_or_the_notebook_path():
    assert detect_lesson(student_namespace()) == LESSON
    assert detect_lesson({"__name__": "__main__"}) is None
    path = {"__session__": "/home/s/notebooks/02_training_neural_networks/02_training_neural_networks.ipynb"}
    assert detect_lesson({**student_namespace(), **path}) == "02_training_neural_networks"
    imported = {"relu": __import__("torch").relu, "step": print}  # names of exercises, not defined in the notebook
    assert detect_lesson(imported) is None
    empty = report(namespace={})
    assert empty.rows == [] and "No exercise of any lesson is defined yet" in empty.text()
    with pytest.raises(ValueError, match="no lesson '99_x'"):
        report("99_x", namespace={})


def test_all_passing_says_nothing_is_left_and_a_non_function_fails_with_the_check_line():
    ns = student_namespace()
    table = report(LESSON, namespace={**ns, "sigmoid": ns["step"]})
    assert table.rows[1].status == FAILING
    ns["tanh"] = 3.0
    assert report(LESSON, namespace=ns).rows[2] == Row("tanh", FAILING, "tanh: expected the function `tanh`, got float")
    only = dataclasses.replace(report(LESSON, namespace=ns), rows=[Row("step", PASSED)])
    assert only.next is None and only.text().endswith("Next: nothing left, every exercise passes.")


def test_a_slow_check_is_not_run_again_but_its_check_cells_verdict_is_reused(monkeypatch, capsys):
    """A check with a time limit of its own (it trains a model) is not run by progress(): the table
    shows the verdict its check cell gave on the same object, else asks to run that cell."""
    slow = dataclasses.replace(REGISTRY["step"])
    slow.time_limit = 60.0
    monkeypatch.setitem(REGISTRY, "step", slow)
    LAST_VERDICTS.pop("step", None)
    ns = student_namespace()
    assert report(LESSON, namespace=ns).rows[0] == Row(
        "step", NOT_CHECKED, "run its check cell (it trains a model; progress() does not)")
    run_check(slow, ns["step"])
    assert capsys.readouterr().out.startswith("step: all ")
    assert report(LESSON, namespace=ns).rows[0] == Row("step", PASSED)
    exec("def step(x):\n    return x", ns)  # redefined since: its verdict no longer applies
    assert report(LESSON, namespace=ns).rows[0].status == NOT_CHECKED
    LAST_VERDICTS.pop("step", None)


def test_under_nbgrader_it_checks_nothing_and_prints_one_line(monkeypatch, capsys):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    monkeypatch.setattr(sys.modules["nb_helpers.progress"], "report", lambda *a, **k: pytest.fail("checked"))
    assert progress_function() is None
    assert capsys.readouterr().out == GRADING_LINE + "\n"


def test_outside_jupyter_it_prints_the_text(monkeypatch, capsys):
    import __main__

    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    for name, value in student_namespace().items():
        if name in LESSON_IDS:
            monkeypatch.setattr(__main__, name, value, raising=False)
    progress_function(LESSON)
    assert capsys.readouterr().out.startswith("Progress in 01_activation_functions: 1 of 18 exercises pass\n✓ step")


# ---------------------------------------------------------------- the feedback's table

def graded_notebook() -> Any:
    """Check cells as autograde leaves them: a pass line, a failure, a blank, a stopped kernel."""
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

    def check(exercise: str, *outputs: Any) -> Any:
        cell = new_code_cell(f"checks.{exercise}({exercise})", outputs=list(outputs))
        cell.metadata["nbgrader"] = {"grade": True, "grade_id": check_id(exercise), "points": 1, "locked": True,
                                     "solution": False, "schema_version": 3}
        return cell

    err = lambda ename, evalue: new_output("error", ename=ename, evalue=evalue, traceback=[])
    return new_notebook(cells=[
        new_markdown_cell("# Lesson"),
        check("step", new_output("stream", name="stdout", text="step: all 6 checks passed\n")),
        check("sigmoid", err("AssertionError", f"{SIGMOID_LINE}\nhint: use the two forms.\n(2 of 9 checks failed)")),
        check("tanh", err("NotImplementedError", "tanh: not implemented yet")),
        check("relu", err("RuntimeError", "relu: not graded, because the kernel stopped before this check ran")),
        check("train_digits", new_output("stream", name="stdout", text="train_digits: accuracy 0.95 >= 0.9\n")),
        check("gelu"),
    ])


def test_the_feedback_table_is_built_from_the_graded_check_cells():
    table = from_notebook(graded_notebook(), lesson=LESSON)
    assert table.rows == [Row("step", PASSED), Row("sigmoid", FAILING, SIGMOID_LINE), Row("tanh", NOT_STARTED),
                          Row("relu", FAILING, "relu: not graded, because the kernel stopped before this check ran"),
                          Row("train_digits", PASSED), Row("gelu", NOT_STARTED, "not graded")]
    assert table.title() == "Progress in 01_activation_functions: 2 of 6 exercises pass"


def test_the_feedback_preprocessor_prepends_the_table_once():
    from nb_helpers.grading.feedback import CELL_ID, ProgressTable

    nb = graded_notebook()
    resources = {"nbgrader": {"assignment": LESSON, "student": "ada"}}
    for _ in range(2):
        nb, resources = ProgressTable().preprocess(nb, resources)
    assert [c.get("id") for c in nb.cells].count(CELL_ID) == 1 and nb.cells[0].id == CELL_ID
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source == from_notebook(graded_notebook(), LESSON).html()
    nbformat.validate(nb)
    old = graded_notebook()   # an nbformat 4.4 notebook: no cell ids, and none added
    old.nbformat_minor = 4
    for cell in old.cells:
        cell.pop("id", None)
    old, _ = ProgressTable().preprocess(old, resources)
    assert "id" not in old.cells[0] and old.cells[0].metadata == {"nbh_progress": True}
    nbformat.validate(old)


def test_the_course_config_registers_the_feedback_table():
    from traitlets.config import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(REPO)).load_config()
    names = [cls.__name__ for cls in config.GenerateFeedback.preprocessors]
    assert names == ["GetGrades", "CSSHTMLHeaderPreprocessor", "ProgressTable"]


# ---------------------------------------------------------------- in a real kernel

def setup_source() -> str:
    nb = nbformat.read(REPO / "solutions" / LESSON / f"{LESSON}.ipynb", as_version=4)
    return next(c.source for c in nb.cells if is_setup_cell(c))


def scenario_notebook() -> Any:
    """The setup cell, the student's cells, a check cell that fails (as in the lesson), then progress()."""
    from nbformat.v4 import new_code_cell, new_notebook

    cells = [new_code_cell(setup_source(), id="setup"), new_code_cell(STUDENT, id="student"),
             new_code_cell("checks.sigmoid(sigmoid)", id="test-sigmoid", metadata={"tags": [CHECK_TAG]}),
             new_code_cell("import nb_helpers\n\nnb_helpers.progress()", id="code-progress")]
    return new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                               "language": "python"}})


@pytest.mark.slow
def test_in_a_kernel_the_table_is_shown_as_html_and_text(tmp_path):
    from tests.test_run_all import execute

    nb = scenario_notebook()
    execute(nb, tmp_path, nbgrader_execution=None)
    assert [o.ename for o in nb.cells[2].outputs if o.output_type == "error"] == ["AssertionError"]
    (output,) = nb.cells[3].outputs
    assert output.output_type == "display_data"
    assert output.data["text/plain"] == EXPECTED_TEXT
    assert output.data["text/html"] == report(namespace=student_namespace()).html()

    nb = scenario_notebook()
    execute(nb, tmp_path, nbgrader_execution="validate")
    assert [o.get("text") for o in nb.cells[3].outputs] == [GRADING_LINE + "\n"]


@pytest.mark.parametrize("lesson", LESSONS)
def test_the_table_lists_the_exercises_in_the_order_of_the_notebook(lesson):
    from nb_helpers.lesson_order import ORDER
    from nb_helpers.progress import _lessons, notebook_order

    nb = nbformat.read(REPO / "solutions" / lesson / f"{lesson}.ipynb", as_version=4)
    assert ORDER.get(lesson) == notebook_order(nb), "run `python -m tools.lesson_order`"
    assert [c.id for c in _lessons()[lesson]] == notebook_order(nb)


@pytest.mark.parametrize("lesson", LESSONS)
def test_each_lesson_ends_with_progress(lesson):
    nb = nbformat.read(REPO / "solutions" / lesson / f"{lesson}.ipynb", as_version=4)
    if "code-progress" not in [c.get("id") for c in nb.cells]:
        pytest.xfail(f"{lesson} does not end with progress() yet")   # added lesson by lesson (see the report)
    assert [c.get("id") for c in nb.cells[-2:]] == ["md-progress", "code-progress"]
    assert nb.cells[-1].source == "import nb_helpers\n\nnb_helpers.progress()"
    (output,) = nb.cells[-1].outputs
    assert output.data["text/plain"].startswith(f"Progress in {lesson}: ")
    n = sum(c.lesson == lesson for c in REGISTRY.values())
    assert f": {n} of {n} exercises pass\n" in output.data["text/plain"]
    from nb_helpers.progress import notebook_order
    listed = [line.split()[1] for line in output.data["text/plain"].splitlines()[1:-1]]
    assert listed == notebook_order(nb), "the stored table is stale: re-execute the lesson"
    assert output.data["text/plain"].endswith("Next: nothing left, every exercise passes.")


# ---------------------------------------------------------------- in JupyterLab

@pytest.fixture(scope="module")
def lab_page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Any]]:
    from tests.support.requirements import require_playwright
    from tests.support.lab_browser import ARTIFACTS, CHROMIUM_ARGS, start_lab, stop_lab

    chromium, sync_playwright = require_playwright("browser test of progress() in JupyterLab")
    root = tmp_path_factory.mktemp("progress-course")
    nbformat.write(scenario_notebook(), root / "progress.ipynb")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    server = start_lab(root, tmp_path_factory.mktemp("jupyter"), log=ARTIFACTS / "jupyterlab-progress.log")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            context.set_default_timeout(30_000)
            yield server, context.new_page()
            browser.close()
    finally:
        server.shutdown_kernels()
        stop_lab(server)


@pytest.mark.slow
def test_in_jupyterlab_the_table_renders_with_the_next_exercise(lab_page):
    from tests.support.lab_browser import open_notebook, run_all, save_screenshot

    server, page = lab_page
    open_notebook(page, server, "progress.ipynb")
    state = run_all(page, 180)
    assert state["cells"][-1]["count"] is not None, "Run All did not reach progress()"
    table = page.locator(".jp-OutputArea-output table.nbh-progress")
    table.wait_for()
    table.scroll_into_view_if_needed()
    save_screenshot(page.locator(".jp-Cell").last, "progress-table")
    assert table.locator("caption").inner_text().strip() == "Progress in 01_activation_functions: 1 of 18 exercises pass"
    rows = table.locator("tbody tr")
    assert rows.count() == 18
    cells = [rows.nth(i).locator("td").all_inner_texts() for i in range(3)]
    assert [[c.strip() for c in row] for row in cells] == [
        ["✓ passed", "step", ""], ["✗ failing", "sigmoid", SIGMOID_LINE], ["· not started", "tanh", ""]]
    assert page.locator(".jp-OutputArea-output div.nbh-progress p").inner_text().strip() == "Next: sigmoid (failing)."
