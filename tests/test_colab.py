"""The lessons run in an environment like Google Colab's, where the setup cell installs the course.

A cached venv (.cache/colab-venv-<hash>) holds torch 2.13.0 CPU and Colab's versions of the
packages that break notebooks (ipywidgets 7.7.1, ipykernel 6.17.1, IPython 7.34, jupyter_client
7.4.9, NumPy 2.1, matplotlib 3.10.0, tqdm 4.67) plus a stub `google.colab` that a `.pth` file
imports at interpreter start, as Colab's kernel preloads it. Each solution notebook is executed
there, as in a fresh runtime, by that venv's kernel (nbclient drives it from the test environment)
and written with that venv's nbformat, with `NB_HELPERS_INSTALL_SPEC`
pointing at a local copy of the repository; the setup cell's `%pip install` must add the course
package and change nothing else. Each fresh student notebook, its cell tags removed as Colab ignores
them, runs there to its last cell with nbclient stopping at the first error.
"""

from __future__ import annotations

import json
import subprocess
import tomllib
from pathlib import Path

import nbformat
import pytest

from nb_helpers.conventions import SETUP_ID, nbgrader_meta
from tests.support.course import LESSONS, REPO, check_cells, student_notebook
from tests.support.venvs import cached_venv, clean_env, current_base_python, freeze, package_copy, pip, python_in, site_packages

pytestmark = pytest.mark.slow

#: Colab's preinstalled versions (googlecolab/backend-info), on this project's torch.
COLAB_PACKAGES = [
    "torch==2.13.0",            # the local CPU wheel; Colab has 2.11, the package asks only torch>=2.1
    "numpy==2.1.3",
    "matplotlib==3.10.0",
    "ipywidgets==7.7.1",
    "ipykernel==6.17.1",
    "ipython==7.34.0",
    "jupyter_client==7.4.9",
    "traitlets==5.7.1",
    "pyzmq==24.0.1",
    "tornado==6.4.2",
    "notebook==6.5.7",
    "tqdm==4.67.3",
    "scikit-learn==1.6.1",
    "scipy==1.15.3",
    "threadpoolctl==3.6.0",
    "nbformat==5.10.4",
    "nbclient==0.10.2",
]
DIST = "nn-training-course"
STUB = '"""Stand-in for Colab\'s `google.colab` (only its presence in sys.modules matters to the lessons)."""\n'
PROBE_MARK = "COLAB-PROBE "

PROBE = ("import json, sys, IPython, ipykernel, ipywidgets, nb_helpers\n"
         f"print({PROBE_MARK!r} + json.dumps({{'colab': 'google.colab' in sys.modules, 'file': nb_helpers.__file__, "
         "'version': nb_helpers.__version__, 'executable': sys.executable, 'ipykernel': ipykernel.__version__, "
         "'ipython': IPython.__version__, 'ipywidgets': ipywidgets.__version__}))")
# Rewrites a notebook with the Colab venv's nbformat.
ROUND_TRIP = "import nbformat, sys; nbformat.write(nbformat.read(sys.argv[1], as_version=4), sys.argv[2])"


def execute_with_colab_kernel(source: Path, out: Path, venv: Path, workdir: Path, env: dict[str, str]) -> dict:
    """Execute a notebook with the venv's kernel (nbclient drives it from this environment), write it
    with the venv's nbformat; return what the kernel reported through an extra cell, removed again."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(source, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(PROBE))
    km = KernelManager(kernel_name="colab",
                       kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(venv / "share" / "jupyter" / "kernels")]))
    report: dict = {"error": None, "probe": None}
    try:
        NotebookClient(nb, km=km, timeout=300, resources={"metadata": {"path": str(workdir)}}).execute(env=env, cwd=str(workdir))
    except CellExecutionError as exc:
        report["error"] = str(exc)[-4000:]
    finally:
        if km.has_kernel:  # a kernel manager passed in is not shut down by nbclient
            km.shutdown_kernel(now=True)
    for o in nb.cells.pop().outputs:
        if o.output_type == "stream" and PROBE_MARK in o.text:
            report["probe"] = json.loads(o.text.split(PROBE_MARK, 1)[1])
    executed = out.with_suffix(".executed.ipynb")
    nbformat.write(nb, executed)
    subprocess.run([str(python_in(venv)), "-c", ROUND_TRIP, str(executed), str(out)], check=True, env=clean_env(), timeout=120)
    return report


def _finish_colab_venv(venv) -> None:
    """The `google.colab` stub, preloaded by a .pth file, and a kernel spec on this venv's python."""
    site = site_packages(venv)
    (site / "google" / "colab").mkdir(parents=True, exist_ok=True)
    (site / "google" / "colab" / "__init__.py").write_text(STUB)
    (site / "google_colab_stub.pth").write_text("import google.colab\n")
    spec_dir = venv / "share" / "jupyter" / "kernels" / "colab"
    spec_dir.mkdir(parents=True, exist_ok=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [str(python_in(venv)), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (Colab-like)", "language": "python"}))


def _wheelhouse(venv) -> None:
    """The package's build requirements as local wheels, so that the setup cell's pip needs no index."""
    wheelhouse = venv / "wheelhouse"
    if not list(wheelhouse.glob("setuptools-*.whl")):
        requires = tomllib.loads((REPO / "pyproject.toml").read_text())["build-system"]["requires"]
        pip(venv, "download", "--quiet", "--no-deps", "--dest", str(wheelhouse), *requires)


@pytest.fixture(scope="module")
def colab_venv():
    venv = cached_venv("colab-venv", current_base_python(), COLAB_PACKAGES, finish=_finish_colab_venv, recipe="stub-pth-1")
    _wheelhouse(venv)
    pip(venv, "uninstall", "--yes", "--quiet", DIST)       # a run that stopped half-way may have left it
    yield venv
    pip(venv, "uninstall", "--yes", "--quiet", DIST)


@pytest.fixture(scope="module")
def clone(tmp_path_factory):
    return package_copy(tmp_path_factory.mktemp("clone") / "nn-training-course")


def test_colab_venv_has_colabs_versions_and_preloads_the_stub(colab_venv):
    frozen = {line.split("==")[0].lower().replace("_", "-"): line for line in freeze(colab_venv)}
    for requirement in COLAB_PACKAGES:
        name, version = requirement.split("==")
        assert frozen[name.lower().replace("_", "-")].split("==")[1].split("+")[0] == version, frozen.get(name)
    assert DIST not in frozen
    out = subprocess.run([str(python_in(colab_venv)), "-c", "import sys; print('google.colab' in sys.modules)"],
                         capture_output=True, text=True, check=True, env=clean_env())
    assert out.stdout.strip() == "True"


def colab_kernel_env(colab_venv: Path, clone: Path) -> dict[str, str]:
    """The kernel's environment: a fresh Colab runtime whose setup cell installs the course from `clone`."""
    # The setup cell's pip, unchanged, but offline: its build isolation takes setuptools from the wheelhouse.
    env = clean_env(NB_HELPERS_INSTALL_SPEC=f"{DIST} @ {clone.as_uri()}", OMP_NUM_THREADS="1",
                    MPLBACKEND="module://matplotlib_inline.backend_inline", PIP_NO_INDEX="1",
                    PIP_FIND_LINKS=str(colab_venv / "wheelhouse"))
    env.pop("TQDM_DISABLE", None)                    # Colab shows progress bars (ipywidgets 7)
    env.pop("NBGRADER_EXECUTION", None)
    env["PATH"] = f"{colab_venv / 'bin'}:{env.get('PATH', '')}"
    return env


@pytest.mark.parametrize("lesson", LESSONS)
def test_lesson_runs_in_a_colab_like_runtime_and_the_setup_cell_installs_only_the_course(
        lesson, colab_venv, clone, tmp_path):
    source = REPO / "solutions" / lesson / f"{lesson}.ipynb"
    workdir = tmp_path / lesson
    workdir.mkdir()
    before = freeze(colab_venv)
    env = colab_kernel_env(colab_venv, clone)
    out_path = tmp_path / f"{lesson}.ipynb"
    try:
        report = execute_with_colab_kernel(source, out_path, colab_venv, workdir, env)
        after = freeze(colab_venv)
    finally:
        pip(colab_venv, "uninstall", "--yes", "--quiet", DIST)   # the next lesson starts from a fresh runtime

    assert report["error"] is None, report["error"]
    probe = report["probe"]
    assert probe["colab"] and probe["executable"] == str(python_in(colab_venv))
    assert (probe["ipykernel"], probe["ipython"], probe["ipywidgets"]) == ("6.17.1", "7.34.0", "7.7.1")
    assert probe["file"].startswith(str(site_packages(colab_venv))), "nb_helpers must come from the install"

    executed = nbformat.read(out_path, as_version=4)
    setup = next(c for c in executed.cells if nbgrader_meta(c).get("grade_id") == SETUP_ID)
    setup_text = "".join(o.get("text", "") for o in setup.outputs if o.output_type == "stream")
    assert "nb_helpers " in setup_text and "| torch 2.13.0" in setup_text, setup_text

    added, removed = set(after) - set(before), set(before) - set(after)
    assert removed == set(), f"the setup cell changed preinstalled packages: {sorted(removed)}"
    assert [line.split(" @ ")[0].split("==")[0] for line in added] == [DIST], sorted(added)

    written, original = (json.loads(p.read_text())["cells"] for p in (out_path, source))
    assert len(written) == len(original)
    for got, want in zip(written, original):
        assert got.get("id") == want.get("id")
        assert got["metadata"].get("nbgrader") == want["metadata"].get("nbgrader"), "".join(want["source"])[:80]


@pytest.mark.parametrize("lesson", LESSONS)
def test_fresh_student_notebook_runs_to_its_end_in_a_colab_like_runtime(lesson, colab_venv, clone, tmp_path):
    """Colab stops Run All at the first error and ignores cell tags: with every tag removed (no
    `raises-exception`) and nbclient stopping at the first error, the fresh student notebook runs to
    its last cell, each check cell printing its not-implemented line."""
    from nb_helpers.checks.kernel import not_implemented_line

    nb = student_notebook(lesson, keep_tags=False)
    source = tmp_path / f"{lesson}.student.ipynb"
    nbformat.write(nb, source)
    workdir = tmp_path / lesson
    workdir.mkdir()
    out_path = tmp_path / f"{lesson}.ipynb"
    try:
        report = execute_with_colab_kernel(source, out_path, colab_venv, workdir, colab_kernel_env(colab_venv, clone))
    finally:
        pip(colab_venv, "uninstall", "--yes", "--quiet", DIST)

    assert report["error"] is None, f"Run All stopped in {lesson}:\n{report['error']}"
    assert report["probe"] and report["probe"]["colab"], "the extra cell after the last one did not run"
    executed = nbformat.read(out_path, as_version=4)
    checks = check_cells(executed)
    assert checks, f"notebooks/{lesson} has no check cells"
    for index, exercise in checks.items():
        cell = executed.cells[index]
        printed = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        assert printed == not_implemented_line(exercise) + "\n", (exercise, printed)
