"""The environment of students' processes in parallel grading: the instructor's, not what Dask's
nannies set for themselves (nb_helpers.grading.parallel.environ)."""

from __future__ import annotations

import os
import subprocess
import sys

from nb_helpers.grading.parallel import environ


def test_apply_sets_and_removes_variables():
    env = {"KEEP": "1", "MALLOC_TRIM_THRESHOLD_": "65536", "PYTHONHASHSEED": "6640"}
    environ.apply({"MALLOC_TRIM_THRESHOLD_": None, "PYTHONHASHSEED": "0", "ABSENT": None}, env)
    assert env == {"KEEP": "1", "PYTHONHASHSEED": "0"}


def test_for_students_puts_back_this_process_s_own_values(monkeypatch):
    monkeypatch.setattr(environ, "ORIGINAL", {"MALLOC_TRIM_THRESHOLD_": None, "PYTHONHASHSEED": "123"})
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")   # as a nanny leaves them
    monkeypatch.setenv("PYTHONHASHSEED", "6640")
    monkeypatch.setenv("NBH_OTHER", "kept")
    env = environ.for_students()
    assert "MALLOC_TRIM_THRESHOLD_" not in env and env["PYTHONHASHSEED"] == "123" and env["NBH_OTHER"] == "kept"
    assert os.environ["MALLOC_TRIM_THRESHOLD_"] == "65536"   # this process's own environment is left alone


def test_the_command_notes_its_environment_before_a_local_cluster_changes_it():
    """A local cluster's nanny sets the hash seed in the coordinator itself (not the trim threshold,
    turned off for local workers); `ORIGINAL` keeps the values from before, which the jobs and the
    shared verdict server get."""
    script = (
        "import os\n"
        "from nb_helpers.grading.parallel import cli, environ\n"
        "from nb_helpers.grading.parallel.cluster import open_client\n"
        "with open_client(None, 1) as get_client:\n"
        "    get_client()\n"
        "    seen = {n: os.environ.get(n) for n in environ.DASK_NANNY_VARIABLES}\n"
        "print(seen == {'MALLOC_TRIM_THRESHOLD_': None, 'PYTHONHASHSEED': '6640'}, environ.ORIGINAL,\n"
        "      {n: environ.for_students().get(n) for n in environ.DASK_NANNY_VARIABLES})\n")
    env = {k: v for k, v in os.environ.items() if k not in environ.DASK_NANNY_VARIABLES}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    unset = "{'MALLOC_TRIM_THRESHOLD_': None, 'PYTHONHASHSEED': None}"
    assert out.stdout.strip() == f"True {unset} {unset}"
