"""A JupyterLab server on a temporary copy of the course, and helpers to drive it with Playwright."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from tests.support.course import LESSONS, REPO

ARTIFACTS = REPO / "artifacts" / "browser"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]
# The environment `make` exports to every command (see the Makefile).
ENV = {
    "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "TQDM_DISABLE": "1",
    "PYDEVD_DISABLE_FILE_VALIDATION": "1", "MPLBACKEND": "module://matplotlib_inline.backend_inline",
}
# Quiet, deterministic JupyterLab: no news or update toasts, every cell rendered (no windowing).
USER_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}


@dataclass
class LabServer:
    """A running JupyterLab: its base URL, token and root directory."""

    url: str
    token: str
    root: Path
    process: subprocess.Popen

    def api(self, method: str, path: str) -> Any:
        """Call the server's REST API; the decoded JSON answer (None when empty)."""
        request = urllib.request.Request(f"{self.url}{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def lab_url(self, path: str) -> str:
        """The address that opens `path` (relative to the root) in a fresh JupyterLab workspace."""
        return f"{self.url}/lab/tree/{path}?reset&token={self.token}"

    def shutdown_kernels(self) -> None:
        """Shut down every session and kernel (one lesson's kernel at a time on 2 cores)."""
        for session in self.api("GET", "/api/sessions"):
            self.api("DELETE", f"/api/sessions/{session['id']}")
        for kernel in self.api("GET", "/api/kernels"):
            self.api("DELETE", f"/api/kernels/{kernel['id']}")


def copy_course(root: Path) -> Path:
    """The lessons (student and solution versions) and the nbgrader config, copied under `root`."""
    shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    for lesson in LESSONS:
        for folder in ("notebooks", "solutions"):
            shutil.copytree(REPO / folder / lesson, root / folder / lesson)
    return root


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_lab(root: Path, state: Path, log: Path, timeout: float = 120) -> LabServer:
    """Start JupyterLab rooted (and working) in `root`, with its own config, settings and runtime dirs."""
    for name, settings in USER_SETTINGS.items():
        target = state / "settings" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(settings))
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(os.environ, **ENV, JUPYTER_CONFIG_DIR=str(state / "config"), JUPYTER_RUNTIME_DIR=str(state / "runtime"),
               IPYTHONDIR=str(state / "ipython"))
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.pop("NBGRADER_EXECUTION", None)   # a student's JupyterLab; nbgrader's Validate sets it for its own run
    command = [
        sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}", f"--LabApp.user_settings_dir={state / 'settings'}",
        f"--LabApp.workspaces_dir={state / 'workspaces'}", "--LabApp.expose_app_in_browser=True",
    ]
    with open(log, "w") as out:
        process = subprocess.Popen(command, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    server = LabServer(f"http://127.0.0.1:{port}", token, root, process)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with status {process.returncode}; see {log}")
        try:
            server.api("GET", "/api/status")
            return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.5)
    stop_lab(server)
    raise RuntimeError(f"JupyterLab did not answer /api/status within {timeout:.0f} s; see {log}")


def stop_lab(server: LabServer) -> None:
    """Stop the server (it shuts its kernels down), then kill whatever is left in its process group."""
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(server.process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    server.process.wait(timeout=10)


# The open notebook as JupyterLab's model sees it (the app is exposed as `window.jupyterapp`).
NOTEBOOK_STATE_JS = """(full) => {
  const panel = window.jupyterapp.shell.currentWidget;
  if (!panel || !panel.content || !panel.sessionContext) return null;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  const cells = [];
  panel.content.widgets.forEach((cell, index) => {
    if (cell.model.type !== 'code') return;
    const prompt = cell.node.querySelector('.jp-InputPrompt');
    const state = {
      index,
      count: cell.model.executionCount,
      busy: cell.model.executionState === 'running' || (prompt !== null && prompt.textContent.includes('*')),
    };
    if (full) {
      const outputs = cell.model.outputs;
      state.errors = [];
      for (let i = 0; i < outputs.length; i++) {
        const output = outputs.get(i);
        if (output.type === 'error') {
          const error = output.toJSON();
          state.errors.push({ename: error.ename, evalue: error.evalue});
        }
      }
      state.source = cell.model.sharedModel.getSource();
      state.texts = [];
      for (let i = 0; i < outputs.length; i++) {
        const output = outputs.get(i).toJSON();
        if (output.output_type === 'stream') {
          state.texts.push(Array.isArray(output.text) ? output.text.join('') : output.text);
        }
      }
    }
    cells.push(state);
  });
  return {kernel: kernel ? kernel.status : null, cells};
}"""


def notebook_state(page: Any, full: bool = True) -> dict:
    """Kernel status and, for every code cell, its index, execution count and busy flag; with `full`,
    its source, error outputs (ename, evalue) and stream texts too."""
    return page.evaluate(NOTEBOOK_STATE_JS, full)


KERNEL_READY_JS = """() => {
  const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const kernel = panel && panel.sessionContext && panel.sessionContext.session && panel.sessionContext.session.kernel;
  return !!kernel && kernel.status === 'idle' && kernel.connectionStatus === 'connected';
}"""


def open_notebook(page: Any, server: LabServer, path: str, timeout: float = 90) -> None:
    """Open `path` in a fresh workspace and wait until its kernel is connected and idle."""
    page.goto(server.lab_url(path))
    page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").first.wait_for(timeout=timeout * 1000)
    page.wait_for_function(KERNEL_READY_JS, timeout=timeout * 1000, polling=250)


def run_menu(page: Any, command: str) -> None:
    """Click an entry of JupyterLab's Run menu, by its command id."""
    page.locator(".lm-MenuBar-item", has_text="Run").first.click()
    page.locator(f"li[data-command='{command}']").click()


def run_command(page: Any, command: str) -> None:
    """Execute a JupyterLab command directly (what its menu entry or shortcut does)."""
    page.evaluate("(id) => { window.jupyterapp.commands.execute(id); }", command)


#: How long a run must look finished (kernel idle, no cell running or queued, no execution count
#: changing) before it is taken as finished. Between two cells of a run the kernel is idle for a
#: moment, and on a loaded machine JupyterLab may take a few hundred milliseconds (rendering a
#: figure) to send the next one: a shorter wait took such a gap for the end, and the next run then
#: overlapped the rest of this one, executing cells out of order.
CALM_S = 1.5


def wait_for_run(page: Any, before: dict, timeout: float) -> dict:
    """Wait until a run started after `before` has begun, then until it has looked finished for
    CALM_S seconds (see there); the final state."""
    deadline = time.monotonic() + timeout
    started = False
    calm_since: float | None = None
    last = None
    while time.monotonic() < deadline:
        state = notebook_state(page, full=False) or {"kernel": None, "cells": []}
        busy = any(c["busy"] for c in state["cells"])
        started = started or busy or state["cells"] != before["cells"]
        if started and not busy and state["kernel"] == "idle" and state["cells"] == last:
            calm_since = calm_since or time.monotonic()
            if time.monotonic() - calm_since >= CALM_S:
                return notebook_state(page)
        else:
            calm_since = None
        last = state["cells"]
        page.wait_for_timeout(150)
    raise AssertionError(f"the run {'did not finish' if started else 'never started'} in {timeout:.0f} s")


def run_all(page: Any, timeout: float) -> dict:
    """Run All Cells from the Run menu; the final state."""
    before = notebook_state(page, full=False)
    run_menu(page, "runmenu:run-all")
    return wait_for_run(page, before, timeout)


def run_from(page: Any, index: int, timeout: float) -> dict:
    """Select cell `index` and run it and every cell below it; the final state."""
    before = notebook_state(page, full=False)
    page.evaluate("(i) => { window.jupyterapp.shell.currentWidget.content.activeCellIndex = i; }", index)
    run_command(page, "notebook:run-all-below")
    return wait_for_run(page, before, timeout)


def scroll_to_cell(page: Any, index: int) -> None:
    """Scroll the notebook so that cell `index` is at the top."""
    page.evaluate("(i) => { window.jupyterapp.shell.currentWidget.content.widgets[i].node.scrollIntoView(); }", index)


def save_screenshot(target: Any, name: str) -> Path:
    """A screenshot of the whole page or of one element, under artifacts/browser/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    if hasattr(target, "goto"):
        target.screenshot(path=path, full_page=True)
    else:
        target.screenshot(path=path)
    return path


def iter_sliders(page: Any) -> Iterator[tuple[Any, Any]]:
    """(interact container, slider handle) for every slider of every `interact` widget on the page."""
    containers = page.locator(".jp-OutputArea-output .widget-interact")
    for i in range(containers.count()):
        container = containers.nth(i)
        handles = container.locator(".widget-slider .noUi-handle")
        for j in range(handles.count()):
            yield container, handles.nth(j)


# ---------------------------------------------------------------- accessibility (axe-core)

#: What axe checks: the notebook's own content, i.e. its cells (rendered markdown, code, outputs).
#: The cells, not the notebook: the notebook's container is JupyterLab's (a `role="feed"` list whose
#: children axe finds wanting: aria-required-children), the same for every notebook.
AXE_INCLUDE = [".jp-NotebookPanel .jp-Notebook .jp-Cell"]
#: JupyterLab's own chrome inside the cells, excluded because a lesson cannot change it (the same
#: markup for every notebook; JupyterLab's accessibility work tracks it):
#: - `.jp-InputArea-editor`: the CodeMirror 6 editor of code cells, whose `role="textbox"` content has
#:   no accessible name (aria-input-field-name) and whose scroller is not focusable
#:   (scrollable-region-focusable), with JupyterLab's syntax-highlighting theme;
#: - the In/Out prompts and the collapser bars beside each cell, the toolbar that appears on the
#:   active cell, and the placeholders of collapsed inputs and outputs.
#: Rendered markdown and every output (text, images, widgets) stay in.
AXE_EXCLUDE = [
    ".jp-NotebookPanel .jp-InputArea-editor",
    ".jp-NotebookPanel .jp-InputPrompt",
    ".jp-NotebookPanel .jp-OutputPrompt",
    ".jp-NotebookPanel .jp-Collapser",
    ".jp-NotebookPanel .jp-cell-toolbar",
    ".jp-NotebookPanel .jp-InputPlaceholder",
    ".jp-NotebookPanel .jp-OutputPlaceholder",
]
#: The impacts that fail a test (axe's scale: minor, moderate, serious, critical).
AXE_FAILING_IMPACTS = ("serious", "critical")


def run_axe(page: Any, include: list[str] | None = None, exclude: list[str] | None = None) -> dict:
    """axe-core (bundled by axe-playwright-python) on the open page, restricted to `include` minus
    `exclude` (default: the notebook's content, JupyterLab's chrome excluded); axe's full result
    (violations, incomplete, passes, inapplicable, testEngine, …)."""
    from axe_playwright_python.base import AXE_SCRIPT

    page.evaluate(AXE_SCRIPT)
    context = {"include": [[s] for s in (include or AXE_INCLUDE)], "exclude": [[s] for s in (exclude or AXE_EXCLUDE)]}
    options = {"resultTypes": ["violations", "incomplete"]}
    return page.evaluate("([context, options]) => window.axe.run(context, options)", [context, options])


#: Violations whose cause is markup of JupyterLab or ipywidgets that a lesson cannot change, on
#: nodes that match `selector`, each with the lesson's own part of the remedy, which the tests check
#: instead (`lesson_remedy`):
#: - image-alt: JupyterLab renders an image/png output as an <img> without alt text (the notebook
#:   format has no place for alt text: jupyter/enhancement-proposals#120); the lesson's text
#:   alternative is the one-sentence `**Figure.**` caption in the cell right after the figure.
#: - aria-input-field-name: the handle of an ipywidgets slider (noUiSlider, role="slider") has no
#:   aria-label and its visible description is not linked to it (leongersen/noUiSlider#1223); the
#:   lesson's part is a non-empty description on every slider.
AXE_UPSTREAM = {
    "image-alt": {"selector": ".jp-RenderedImage img", "remedy": "caption"},
    "aria-input-field-name": {"selector": ".widget-slider .noUi-handle", "remedy": "slider-label"},
}

#: For each node (an axe target selector) and the remedy expected: whether the node matches the
#: upstream selector, and whether the lesson's remedy is there (a "Figure." caption in the next cell,
#: or a non-empty slider description).
LESSON_REMEDY_JS = """(items) => items.map(({target, selector, remedy}) => {
  const node = document.querySelector(target);
  if (!node) return {target, upstream: false, ok: false, detail: 'node not found'};
  if (!node.matches(selector)) return {target, upstream: false, ok: false, detail: ''};
  const cells = Array.from(document.querySelectorAll('.jp-NotebookPanel .jp-Notebook .jp-Cell'));
  const cell = node.closest('.jp-Cell');
  const index = cells.indexOf(cell);
  if (remedy === 'caption') {
    const next = cells[index + 1];
    const rendered = next && next.classList.contains('jp-MarkdownCell') ? next.querySelector('.jp-RenderedMarkdown') : null;
    const text = rendered ? rendered.innerText.trim() : '';
    return {target, upstream: true, cell: index, ok: text.startsWith('Figure.'),
            detail: text ? text.slice(0, 120) : 'no markdown cell after the figure'};
  }
  const slider = node.closest('.widget-slider');
  const label = slider ? slider.querySelector('.widget-label') : null;
  const text = label ? label.innerText.trim() : '';
  return {target, upstream: true, cell: index, ok: text.length > 0, detail: text || 'a slider without a description'};
})"""


def lesson_remedy(page: Any, items: list[dict]) -> list[dict]:
    """For each {target, selector, remedy}: does the node match the upstream selector, and is the
    lesson's remedy there (see AXE_UPSTREAM)?"""
    return page.evaluate(LESSON_REMEDY_JS, items)


def axe_problems(page: Any, results: dict) -> tuple[list[str], list[dict]]:
    """(the failing findings as lines, the accepted upstream findings) of an axe result: every
    serious or critical violation on a node of the notebook's content fails, except an upstream one
    (AXE_UPSTREAM) whose lesson remedy is in place."""
    failing, accepted = [], []
    for violation in results["violations"]:
        if violation.get("impact") not in AXE_FAILING_IMPACTS:
            continue
        upstream = AXE_UPSTREAM.get(violation["id"])
        targets = [n["target"][0] if isinstance(n["target"][0], str) else n["target"][0][0] for n in violation["nodes"]]
        checked = (lesson_remedy(page, [{"target": t, **upstream} for t in targets]) if upstream
                   else [{"target": t, "upstream": False, "ok": False, "detail": ""} for t in targets])
        for node, verdict in zip(violation["nodes"], checked):
            if verdict["upstream"] and verdict["ok"]:
                accepted.append({"rule": violation["id"], "cell": verdict.get("cell"), "remedy": verdict["detail"]})
                continue
            why = f" ({verdict['detail']})" if verdict["detail"] else ""
            failing.append(f"{violation['impact']} {violation['id']}: {violation['help']}{why}\n"
                           f"    at {node['target']}: {node['html'][:160]}")
    return failing, accepted


def save_axe_results(name: str, results: dict, failing: list[str], accepted: list[dict]) -> Path:
    """axe's result with the scope and the verdict, as JSON under artifacts/browser/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.json"
    path.write_text(json.dumps({
        "scope": {"include": AXE_INCLUDE, "exclude": AXE_EXCLUDE, "failing_impacts": list(AXE_FAILING_IMPACTS)},
        "failing": failing, "accepted_upstream": accepted, "axe": results,
    }, indent=1))
    return path
