"""How `nb-helpers-grade` sets up its processes: the local workers' Dask settings and fork server,
what they import before they start and keep out of the collector's reach, and the preprocessor
lists it takes from the configuration (fast; the grading itself: tests/test_parallel_grading.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO_NOTEBOOK = Path(__file__).resolve().parents[1] / "solutions" / "04_advanced_training" / "04_advanced_training.ipynb"


def _dask_settings(keys: list[str]) -> dict:
    import dask

    return {key: dask.config.get(key) for key in keys}


def test_local_workers_run_with_dask_bookkeeping_turned_down(monkeypatch):
    from nb_helpers.grading.parallel.cluster import LOCAL_DASK_CONFIG, open_client

    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    keys = sorted(LOCAL_DASK_CONFIG)
    with open_client(None, 2) as get_client:
        client = get_client()
        seen = client.run(_dask_settings, keys)
        on_scheduler = client.run_on_scheduler(_dask_settings, keys)
        origins = client.run(_origin)
        trim = client.run(os.environ.get, "MALLOC_TRIM_THRESHOLD_")
    assert len(seen) == 2 and set(trim.values()) == {None}   # no nanny set it (see environ.py)
    for settings in [*seen.values(), on_scheduler]:
        assert settings == LOCAL_DASK_CONFIG
    # both workers are forks of one process that imported the grading stack once (not two spawns)
    parents = {parent for parent, _ in origins.values()}
    assert len(parents) == 1 and parents != {os.getpid()}
    (parent,) = parents
    assert "forkserver" in Path(f"/proc/{parent}/cmdline").read_bytes().decode(errors="replace")
    assert all(loaded for _, loaded in origins.values())


def _origin() -> tuple[int, bool]:
    """(parent pid, whether the grading stack is imported) of a worker process."""
    return os.getppid(), {"nbgrader.converters", "nb_helpers.checks"} <= set(sys.modules)


def test_the_workers_fork_server_starts_before_the_command_imports_dask_and_nbgrader():
    """Its imports (nbgrader, torch, Dask: seconds of CPU) overlap the coordinator's own."""
    probe = ("import sys, psutil\n"
             "from nb_helpers.grading.parallel import cli, cluster\n"
             "heavy = [m for m in ('nbgrader', 'distributed', 'dask', 'torch') if m in sys.modules]\n"
             "def no_dask():  # what has started by the time Dask would be imported\n"
             "    print(heavy)\n"
             "    print([' '.join(c.cmdline()) for c in psutil.Process().children()])\n"
             "    raise cluster.ClusterError('stop here')\n"
             "cluster._dask = no_dask\n"
             "try:\n"
             "    with cluster.open_client(None, 1): pass\n"
             "except cluster.ClusterError: pass\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    heavy, children = out.stdout.splitlines()
    assert heavy == "[]"
    assert "multiprocessing.forkserver" in children and "nb_helpers.grading.parallel.preload" in children


def test_the_command_skips_the_final_garbage_collection_and_keeps_exit_handlers_and_status():
    probe = ("import atexit, gc\n"
             "from nb_helpers.grading.parallel import cli\n"
             "cli.main = lambda argv=None: 3\n"
             "atexit.register(lambda: print('frozen', gc.get_freeze_count() > 0))\n"
             "cli.run()\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert (out.returncode, out.stdout.strip()) == (3, "frozen True")


def test_the_local_workers_imported_objects_are_out_of_the_collectors_reach():
    """The fork server freezes what the preload imported (torch, nbgrader: workers forked from it
    inherit that), and Dask's dask_setup hook, in each worker, what Dask added: a full collection
    then walks only what grading allocates."""
    probe = ("import gc\n"
             "from nb_helpers.grading.parallel import preload\n"
             "print(gc.get_freeze_count() > 100_000, len(gc.get_objects()) < 1_000)\n"
             "import distributed\n"
             "preload.dask_setup(None)\n"
             "print(len(gc.get_objects()) < 1_000)\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "True", "True"]


def test_grading_processes_skip_jsonschemas_slow_iri_parsers_and_still_validate_notebooks():
    probe = ("import sys, nb_helpers.grading.parallel, nbformat\n"
             f"nb = nbformat.read({str(REPO_NOTEBOOK)!r}, as_version=4)\n"
             "nbformat.validate(nb)\n"
             "print(sys.modules.get('rfc3987_syntax') is None)\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"


def test_preprocessor_lists_fall_back_to_nbgraders_defaults():
    from traitlets.config import Config

    from nb_helpers.grading.parallel.record import autograde_preprocessors, gradebook_preprocessors

    empty = Config()
    assert [c.__name__ for c in gradebook_preprocessors(empty)] == ["SaveAutoGrades", "AssignLatePenalties"]
    assert "ClearOutput" in [c.__name__ for c in autograde_preprocessors(empty, "sanitize_preprocessors")]
    empty.Autograde.sanitize_preprocessors = []
    assert autograde_preprocessors(empty, "sanitize_preprocessors") == []
