"""The import boundaries of grading: serial grading never loads the parallel package, and the code
that runs students' answers (the fork server, `checks.collection`) never loads the judge."""

from __future__ import annotations

from tests.support.probes import modules_loaded_by


def test_serial_grading_does_not_import_the_parallel_package():
    loaded = modules_loaded_by("""
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
    loaded = modules_loaded_by("import nb_helpers.checks.collection")
    assert "nb_helpers.checks.collection" in loaded
    assert "nb_helpers.checks.judgement" not in loaded


def test_the_fork_server_and_its_children_import_neither_the_judge_nor_the_authoring_tools():
    """The server's own imports, its prepared setup cell and a child that collects the outcomes of
    an answer: the answer itself reports what its process has loaded."""
    loaded = modules_loaded_by("""
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
