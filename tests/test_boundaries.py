"""The import boundaries of grading: serial grading never loads the parallel package, and the code
that runs students' answers (the fork server, `checks.collection`) never loads the judge."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from tests.support.course import REPO


def loaded_after(code: str) -> list[str]:
    """The `nb_helpers` modules a fresh interpreter has loaded after running `code` in the repository root."""
    script = textwrap.dedent(code) + "\nimport sys, json\nprint(json.dumps(sorted(m for m in sys.modules if m.startswith('nb_helpers'))))\n"
    env = dict(os.environ, OMP_NUM_THREADS="1", MPLBACKEND="Agg")
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_serial_grading_does_not_import_the_parallel_package():
    loaded = loaded_after("""
        from pathlib import Path
        from traitlets.config import Config
        config = Config()
        exec(open("nbgrader_config.py").read(), {"get_config": lambda: config})
        from nb_helpers.grading import lms, report  # noqa: F401 - the serial commands
        from nb_helpers.grading.course import load_course
        from nb_helpers.grading.verdict import VerdictPreprocessor, configured_verdicts
        assert configured_verdicts(config) == [VerdictPreprocessor]
        load_course(Path("."), None, None)
    """)
    assert "nb_helpers.grading.verdict" in loaded and "nb_helpers.grading.course" in loaded
    assert not [m for m in loaded if m.startswith("nb_helpers.grading.parallel")]


def test_collection_does_not_import_the_judge():
    loaded = loaded_after("import nb_helpers.checks.collection")
    assert "nb_helpers.checks.collection" in loaded
    assert "nb_helpers.checks.judgement" not in loaded


def test_the_fork_server_and_its_children_import_neither_the_judge_nor_the_authoring_tools():
    """The server's own imports, its prepared setup cell and a child that collects the outcomes of
    an answer: the answer itself reports what its process has loaded."""
    loaded = loaded_after("""
        import json
        from nb_helpers import checks  # noqa: F401 - as the server's warm-up does
        from nb_helpers.checks import outcome
        from nb_helpers.conventions import setup_cell_source
        from nb_helpers.grading import forkserver
        assert forkserver.prepare_setup() == "prepared"
        answer = (
            "import sys\\n"
            "_seen = sorted(m for m in ('nb_helpers.authoring', 'nb_helpers.checks.judgement') if m in sys.modules)\\n"
            "def sigmoid(x):\\n"
            "    raise LookupError(repr(_seen))\\n")
        reply = forkserver.handle({"exercise": "sigmoid", "seed": 1, "setup": setup_cell_source(), "cells": [answer],
                                   "timeout": 60, "cell_timeout": 30, "memory_mb": 0})
        assert reply["status"] == "ok", reply
        first = json.loads(reply["payload"])[0]
        assert first["status"] == "error" and first["error"]["message"] == "[]", first
    """)
    assert "nb_helpers.grading.forkserver" in loaded
    assert "nb_helpers.authoring" not in loaded
    assert "nb_helpers.checks.judgement" not in loaded
