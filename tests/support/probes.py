"""What a fresh interpreter imports: the import rules of the package are checked in a new process,
where nothing the test suite loaded can hide a forbidden import."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from tests.support.course import REPO


def modules_loaded_by(code: str) -> set[str]:
    """The names in `sys.modules` of a new interpreter (repository root, one thread, Agg backend)
    after it has run `code`; fails the test, with its stderr, when `code` raises."""
    script = textwrap.dedent(code) + "\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))\n"
    env = dict(os.environ, OMP_NUM_THREADS="1", MPLBACKEND="Agg")
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return set(json.loads(done.stdout.strip().splitlines()[-1]))
