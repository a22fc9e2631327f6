"""The lessons in a real JupyterLab driven by headless Chromium (Playwright): Run All goes through
every fresh student notebook to its last cell and runs every solution notebook without an error,
axe-core finds no serious or critical accessibility problem in a lesson's rendered content, a widget
slider redraws its figure, and nbgrader's Validate button passes a solution. Screenshots and axe's
results (JSON) go to artifacts/browser/."""

from __future__ import annotations

import re
from typing import Any, Iterator

import pytest

from tests.support.requirements import require_playwright
from tests.support.course import LESSONS
from nb_helpers.checks.kernel import not_implemented_line
from tests.support.lab_browser import (
    ARTIFACTS, CHROMIUM_ARGS, LabServer, axe_problems, copy_course, iter_sliders, open_notebook, run_all, run_axe,
    run_from, save_axe_results, save_screenshot, scroll_to_cell, start_lab, stop_lab,
)

pytestmark = pytest.mark.slow
#: Chromium and a JupyterLab server start in seconds: each xdist worker may have its own.
PER_WORKER_FIXTURES = ("browser", "lab")

RUN_TIMEOUT = 180  # seconds for one Run All (a lesson takes 15-20 s alone on 2 cores)
CHECK_CELL = re.compile(r"checks\.(\w+)\(\w+\)")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, driven by Playwright (no browser download)."""
    chromium, sync_playwright = require_playwright("browser tests of the lessons in JupyterLab")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def lab(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """JupyterLab on a temporary copy of the course (the browser never writes to the repository)."""
    root = copy_course(tmp_path_factory.mktemp("course"))
    state = tmp_path_factory.mktemp("jupyter")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    server = start_lab(root, state, log=ARTIFACTS / "jupyterlab.log")
    try:
        yield server
    finally:
        stop_lab(server)


@pytest.fixture
def page(browser: Any, lab: LabServer) -> Iterator[Any]:
    """A fresh browser page; the notebook's kernel is shut down afterwards."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(30_000)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()
        lab.shutdown_kernels()


def run_everything(page: Any) -> dict:
    """Run All, then, wherever JupyterLab stopped at an error, run on from the next cell; the final state."""
    state = run_all(page, RUN_TIMEOUT)
    resumed_at: set[int] = set()
    while True:
        pending = [c for c in state["cells"] if c["count"] is None and c["source"].strip()]
        if not pending:
            return state
        index = pending[0]["index"]
        above = [c for c in state["cells"] if c["index"] < index]
        assert any(c["errors"] for c in above), f"cell {index} did not run and nothing above it failed"
        assert index not in resumed_at, f"cell {index} did not run when run on from it"
        resumed_at.add(index)
        state = run_from(page, index, RUN_TIMEOUT)


@pytest.mark.parametrize("lesson", LESSONS)
def test_fresh_student_notebook_runs_to_its_last_cell(page: Any, lab: LabServer, lesson: str) -> None:
    """One Run All on the fresh student version reaches the last cell without a single error: each
    check cell prints "<id>: not implemented yet (0 of 1 point)" instead of raising."""
    open_notebook(page, lab, f"notebooks/{lesson}/{lesson}.ipynb")
    state = run_all(page, RUN_TIMEOUT)
    checks = {c["index"]: m.group(1) for c in state["cells"] if (m := CHECK_CELL.fullmatch(c["source"].strip()))}
    assert checks, "the student version has no check cells"
    scroll_to_cell(page, min(checks) - 1)  # the first exercise and its check's line
    save_screenshot(page, f"{lesson}-student-run-all")
    code = [c for c in state["cells"] if c["source"].strip()]
    assert code[-1]["count"] is not None, f"Run All did not reach the last cell:\n{code[-1]['source'][:200]}"
    not_run = [c["source"][:80] for c in code if c["count"] is None]
    assert not not_run, f"cells that did not run: {not_run}"
    failed = [(c["source"][:80], c["errors"]) for c in state["cells"] if c["errors"]]
    assert not failed, f"cells of the fresh student notebook raised: {failed}"
    for cell in state["cells"]:
        if cell["index"] in checks:
            assert "".join(cell["texts"]) == not_implemented_line(checks[cell["index"]]) + "\n", cell


@pytest.mark.parametrize("lesson", LESSONS)
def test_solution_runs_clean_passes_axe_and_a_slider_redraws_its_figure(page: Any, lab: LabServer, lesson: str) -> None:
    """Run All on the solution shows no error; axe-core finds no serious or critical violation in the
    rendered lesson (its cells and outputs; see lab_browser.AXE_EXCLUDE and AXE_UPSTREAM for what is
    JupyterLab's or ipywidgets'); and moving a widget slider (keyboard) redraws a different figure."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    open_notebook(page, lab, f"solutions/{lesson}/{lesson}.ipynb")
    state = run_everything(page)
    save_screenshot(page, f"{lesson}-solution-run-all")
    failed = [(c["source"], c["errors"]) for c in state["cells"] if c["errors"]]
    assert not failed, f"errors in the solution notebook: {failed}"
    assert all(c["count"] is not None for c in state["cells"] if c["source"].strip())

    results = run_axe(page)
    axe_failing, accepted = axe_problems(page, results)
    saved = save_axe_results(f"{lesson}-axe", results, axe_failing, accepted)

    tried = []
    for container, handle in iter_sliders(page):
        container.scroll_into_view_if_needed()
        figure = container.locator(".widget-output img").first
        if figure.count() == 0:
            continue
        before = figure.get_attribute("src")
        figure.evaluate("img => img.setAttribute('data-before-move', '')")
        save_screenshot(container, f"{lesson}-slider-before")
        value = handle.get_attribute("aria-valuenow")
        handle.press("ArrowRight")
        redrawn = container.locator(".widget-output img:not([data-before-move])").first
        try:
            redrawn.wait_for(timeout=15_000)
        except PlaywrightTimeout:  # no redraw: this slider does not drive the figure
            tried.append((value, handle.get_attribute("aria-valuenow"), "no redraw"))
            continue
        after, moved = redrawn.get_attribute("src"), handle.get_attribute("aria-valuenow")
        tried.append((value, moved, "changed" if after != before else "same image"))
        if after != before:
            assert moved != value, tried
            save_screenshot(container, f"{lesson}-slider-after")
            break
    else:
        pytest.fail(f"no slider redrew a different figure: {tried}")
    assert not axe_failing, (f"{len(axe_failing)} serious/critical accessibility problem(s) in {lesson} "
                             f"(axe-core {results['testEngine']['version']}; all results in {saved}):\n"
                             + "\n".join(axe_failing))


def test_nbgrader_validate_passes_a_solution(page: Any, lab: LabServer) -> None:
    """nbgrader's lab extension is loaded (menu, Validate button) and Validate passes a filled-in notebook."""
    lesson = LESSONS[0]
    open_notebook(page, lab, f"solutions/{lesson}/{lesson}.ipynb")
    assert page.locator(".lm-MenuBar-item", has_text="Nbgrader").count() == 1, "nbgrader's menu is missing"
    button = page.locator(".jp-NotebookPanel-toolbar .validate-button")
    button.wait_for()
    button.locator("jp-button, button").first.click()
    dialog = page.locator(".jp-Dialog")
    dialog.locator(".jp-Dialog-header").wait_for(timeout=RUN_TIMEOUT * 1000)  # Validate runs the notebook
    save_screenshot(page, f"{lesson}-validate")
    assert dialog.locator(".jp-Dialog-header").inner_text().strip() == "Validation Results", dialog.inner_text()
    success = dialog.locator(".validation-success")
    assert success.count() == 1, dialog.inner_text()
    assert success.inner_text().strip() == "Success! Your notebook passes all the tests."
