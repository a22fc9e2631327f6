"""The environment of the processes that run students' code when a class is graded in parallel.

Dask's nanny sets two variables for its own sake in every worker it starts, and leaves them set in
the process that started the worker too (the coordinator, for local workers):

- `MALLOC_TRIM_THRESHOLD_=65536`, so that a worker hands Dask's freed data back to the system at
  once. A kernel that inherits it gives memory back and faults it in again at nearly every large
  free: lesson 03's solution, run alone, took twice the page faults and 9.0 s of kernel CPU
  instead of 8.2 s;
- `PYTHONHASHSEED=6640`, so that workers hash Dask's keys alike. It would fix the order in which a
  student's sets of strings iterate, where serial grading leaves it random.

The local cluster tells its nannies not to set the first (`cluster.LOCAL_DASK_CONFIG`); the
workers of a Dask cluster started elsewhere have both. Serial `nbgrader autograde` starts the
kernels and the verdict fork server with the instructor's environment, so the parallel command
gives them the coordinator's own values of these variables, taken when this module is first
imported (as the command starts, before any nanny): the coordinator's shared verdict server
starts with them, and each job carries them to its worker (`GradeJob.environ`), which puts them
in place before it starts the submission's kernel.
"""

from __future__ import annotations

import os
from typing import Mapping, MutableMapping

#: The variables a Dask nanny sets for its own use (`distributed.nanny.pre-spawn-environ`, and the
#: hash seed the nanny adds); the thread caps it also sets stay, as one thread per process is what
#: parallel grading wants anyway.
DASK_NANNY_VARIABLES = ("MALLOC_TRIM_THRESHOLD_", "PYTHONHASHSEED")

#: This process's own values of those variables (None: unset), before Dask could change them.
ORIGINAL: dict[str, str | None] = {name: os.environ.get(name) for name in DASK_NANNY_VARIABLES}


def apply(values: Mapping[str, str | None], environ: MutableMapping[str, str] = os.environ) -> None:
    """Set each variable of `values` in `environ` (this process's environment by default), or
    remove it where its value is None."""
    for name, value in values.items():
        if value is None:
            environ.pop(name, None)
        else:
            environ[name] = value


def for_students() -> dict[str, str]:
    """This process's environment with the `ORIGINAL` values put back: for a process it starts that
    runs students' code."""
    environ = dict(os.environ)
    apply(ORIGINAL, environ)
    return environ
