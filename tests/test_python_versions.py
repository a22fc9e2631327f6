"""The student package installs and imports on every supported Python, 3.10 to 3.13.

For each interpreter found (pyenv's, or `python3.X` on PATH) a cached venv without torch
(.cache/py3.X-<hash>) gets the package (`--no-deps`) plus what its torch-free modules need, and
runs tests/test_torch_free.py against the installed copy. torch 2.13.0 is installed from this
machine's disk only for Python 3.11 (the CPU wheel); for other versions pip would fetch the CUDA
build from PyPI, so the torch part is tested on 3.11 only. Instructor tooling (nbgrader) needs 3.11+.
A missing interpreter skips its test, or fails it under COURSE_REQUIRE_ALL=1.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.requirements import REQUIRE_ALL
from tests.support.venvs import REPO, cached_venv, clean_env, package_copy, pip, python_in, site_packages

pytestmark = pytest.mark.slow

VERSIONS = ["3.10", "3.12", "3.13"]
#: What the torch-free modules import, at the package's lower bounds or newer, and the test runner.
REQUIREMENTS = ["numpy>=1.24", "scipy>=1.10", "matplotlib>=3.7", "ipywidgets>=7.6,<9", "pytest>=8"]


def find_python(version: str) -> str | None:
    """An interpreter of that minor version: pyenv's newest, else `python3.X` on PATH."""
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    found = sorted(glob.glob(f"{root}/versions/{version}.*/bin/python{version}"),
                   key=lambda p: [int(x) for x in Path(p).parts[-3].split(".")[:3] if x.isdigit()])
    return found[-1] if found else shutil.which(f"python{version}")


@pytest.mark.parametrize("version", VERSIONS)
def test_student_package_imports_and_passes_its_torch_free_tests(version, tmp_path):
    python = find_python(version)
    if python is None:
        message = f"Python {version} is not installed (pyenv install {version}, or python{version} on PATH)"
        if REQUIRE_ALL:
            pytest.fail(message)
        pytest.skip(message)
    venv = cached_venv(f"py{version}", python, REQUIREMENTS)
    pip(venv, "install", "--quiet", "--no-deps", "--force-reinstall", str(package_copy(tmp_path / "src")))
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    shutil.copy(REPO / "tests" / "test_torch_free.py", run_dir)
    env = clean_env(MPLBACKEND="Agg")

    probe = subprocess.run([str(python_in(venv)), "-c", "import sys, nb_helpers; print(nb_helpers.__file__); "
                            "print(sys.version_info[:2]); print('torch' in sys.modules)"],
                           capture_output=True, text=True, cwd=run_dir, env=env, timeout=120)
    assert probe.returncode == 0, probe.stderr[-2000:]
    where, got_version, torch_loaded = probe.stdout.split("\n")[:3]
    assert where.startswith(str(site_packages(venv))) and got_version == str(tuple(map(int, version.split("."))))
    assert torch_loaded == "False"

    proc = subprocess.run([str(python_in(venv)), "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(run_dir),
                           "-c", os.devnull, "test_torch_free.py"],
                          capture_output=True, text=True, cwd=run_dir, env=env, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout and "skipped" not in proc.stdout
