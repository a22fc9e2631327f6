"""What travels between the coordinator and a worker: plain data and bytes, no shared filesystem."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: A submission whose worker died this many times in a row is reported as failed (1 try + 2 retries).
MAX_ATTEMPTS = 3


@dataclass
class GradeJob:
    """One student's submission of one assignment, with everything needed to autograde it."""

    assignment: str
    student: str
    config: Any                        # the course's traitlets Config (as `nbgrader autograde` loads it)
    gradebook: bytes                   # sqlite gradebook holding only the assignment's source cells
    source_files: dict[str, bytes]     # every file of source/<assignment>/ (hooks may read the notebooks)
    submission: dict[str, bytes]       # every file of submitted/<student>/<assignment>/
    hidden_paths: list[str] = field(default_factory=list)  # the real course's folders, hidden from student code
    attempts_key: str | None = None    # Dask Variable counting the tries (None: no counting)
    verdict_socket: str = ""           # the coordinator's shared verdict fork server (local workers only)
    environ: dict[str, str | None] = field(default_factory=dict)  # variables the kernel gets as on the
                                                                   # coordinator (None: unset; see environ.py)
    max_attempts: int = MAX_ATTEMPTS


@dataclass
class GradeResult:
    """What a worker sends back: the autograded files (bytes) or why grading failed."""

    student: str
    ok: bool
    files: dict[str, bytes] = field(default_factory=dict)
    error: str = ""
    log: str = ""                      # errors nbgrader logged while grading it anyway (e.g. a hook's notes)
    seconds: float = 0.0
    started: float = 0.0               # when the worker began it (seconds since the epoch)
    attempt: int = 1
    worker: str = ""
    verdicts: str = ""                 # whose fork server computed the verdicts: "shared" or "own"


def read_tree(root: Path) -> dict[str, bytes]:
    """Every file under `root`, keyed by its POSIX path relative to `root`."""
    files: dict[str, bytes] = {}
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            path = Path(dirpath) / name
            files[path.relative_to(root).as_posix()] = path.read_bytes()
    return files


def write_tree(root: Path, files: dict[str, bytes]) -> None:
    """Write `files` (from `read_tree`) under `root`, refusing paths that escape it."""
    root = root.resolve()
    for rel, data in files.items():
        path = (root / rel).resolve()
        if root not in path.parents:
            raise ValueError(f"refusing to write {rel!r} outside {root}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
