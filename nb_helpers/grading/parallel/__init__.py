"""Autograde a whole class in parallel: `nb-helpers-grade <assignment>`.

One coordinator process owns the gradebook; long-lived worker processes (local cores, or the
workers of a Dask cluster) each autograde one submission at a time with nbgrader's own `Autograde`
converter and the course's configuration, in a private scratch course whose gradebook holds only
the assignment's source cells. A worker returns the autograded files as bytes; the coordinator
records the grades in the real gradebook with the configured `SaveAutoGrades` and
`AssignLatePenalties` preprocessors (the code serial `nbgrader autograde` runs) and then moves the
files into `autograded/<student>/<assignment>/` atomically.

Modules: `jobs` (what travels between processes), `scratch` (the scratch gradebook), `engines`
(one database engine per gradebook), `worker` (one submission, in a worker), `preload` (what the
local workers import before they start), `record` (the coordinator's writes), `cluster` (local or
Dask workers), `cli` (the command).

Importing the package is cheap (no nbgrader, no Dask): the command starts its local workers'
fork server, whose imports take seconds, before it imports anything heavy itself.
"""

import sys

# jsonschema (through nbformat) imports `rfc3987_syntax` when it is installed, which builds ~35 Lark
# parsers at import time: 1.5-2 s of CPU in every process that reads a notebook, for the `iri` format
# checks that no notebook schema uses (python-jsonschema/jsonschema#1428). The coordinator and each
# worker skip it; jsonschema then leaves those two formats unchecked.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
